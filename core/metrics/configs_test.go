package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/engine"
)

// names returns the names of every metric etl registers itself.
func names(t *testing.T) map[string]bool {
	t.Helper()
	m := New("shop", &engine.Stats{})
	out := map[string]bool{}
	ch := make(chan *prometheus.Desc, 64)
	statsCollector{}.Describe(ch)
	m.batchDuration.Describe(ch)
	m.commitDuration.Describe(ch)
	close(ch)
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		match := re.FindStringSubmatch(d.String())
		if match == nil {
			t.Fatalf("no name in %s", d)
		}
		out[match[1]] = true
	}
	return out
}

// TestGrafanaDashboardQueriesEtlMetrics parses configs/grafana-dashboard.json
// and checks that every etl_ metric its panels query exists.
func TestGrafanaDashboardQueriesEtlMetrics(t *testing.T) {
	data, err := os.ReadFile("../../configs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("configs/grafana-dashboard.json: %v", err)
	}
	known := names(t)
	used := map[string]bool{}
	re := regexp.MustCompile(`\betl_[a-z_]+`)
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range re.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
				if !known[name] && !known[base] {
					t.Errorf("panel %q queries %s, which etl does not export", p.Title, name)
				}
				used[base] = true
			}
		}
	}
	for name := range known {
		if !used[name] && name != "etl_bytes_read_total" {
			t.Errorf("no panel shows %s", name)
		}
	}
}

// TestPrometheusConfigScrapesTheDefaultAddress parses configs/prometheus.yml.
func TestPrometheusConfigScrapesTheDefaultAddress(t *testing.T) {
	data, err := os.ReadFile("../../configs/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("configs/prometheus.yml: %v", err)
	}
	if len(cfg.ScrapeConfigs) != 1 || len(cfg.ScrapeConfigs[0].StaticConfigs) != 1 {
		t.Fatalf("want one scrape config with one static config, got %+v", cfg.ScrapeConfigs)
	}
	sc := cfg.ScrapeConfigs[0]
	if sc.MetricsPath != "/metrics" || len(sc.StaticConfigs[0].Targets) != 1 || sc.StaticConfigs[0].Targets[0] != DefaultAddr {
		t.Errorf("job %q scrapes %s%v, want %s/metrics", sc.JobName, sc.MetricsPath, sc.StaticConfigs[0].Targets, DefaultAddr)
	}
}
