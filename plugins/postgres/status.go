package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

var _ plugin.StatusReporter = (*Sink)(nil)

// Status returns what is committed for the pipeline, for etl status: the
// positions and the last batch id with its commit time from the offsets
// table, and the rejects of the pipeline by error type from the rejects
// table. It only reads: it runs no setup_sql and creates no table; a
// missing offsets table means nothing is committed yet.
func (s *Sink) Status(ctx context.Context) (plugin.Status, error) {
	if s.set == nil {
		return plugin.Status{}, errors.New("postgres: Status before Configure")
	}
	var st plugin.Status
	err := s.retry(ctx, "read the status", func(ctx context.Context) error {
		st = plugin.Status{}
		conn, err := s.connection(ctx)
		if err != nil {
			return err
		}
		if err := s.readOffsetsStatus(ctx, conn, &st); err != nil {
			return err
		}
		return s.readRejectsStatus(ctx, conn, &st)
	})
	return st, err
}

// readOffsetsStatus reads the committed positions, the last batch id and
// when it was committed.
func (s *Sink) readOffsetsStatus(ctx context.Context, conn *pgx.Conn, st *plugin.Status) error {
	table := s.set.offsets.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
		return fmt.Errorf("look up table %s: %w", table, err)
	}
	if !exists {
		return nil
	}
	rows, err := conn.Query(ctx, `SELECT partition, "offset", done, batch_id, committed_at FROM `+table+` WHERE pipeline = $1 ORDER BY partition`, s.pipeline)
	if err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p record.Position
		var id int64
		var at time.Time
		if err := rows.Scan(&p.Partition, &p.Offset, &p.Done, &id, &at); err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		if id > st.BatchID {
			st.BatchID, st.CommittedAt = id, at
		}
		if p.Partition != noPartition {
			st.Positions = append(st.Positions, p)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	return nil
}

// readRejectsStatus counts the pipeline's rejects by error type, when the
// rejects table has an error_type column (and only the pipeline's own when
// it has a pipeline column).
func (s *Sink) readRejectsStatus(ctx context.Context, conn *pgx.Conn, st *plugin.Status) error {
	table := s.set.rejects.Sanitize()
	cols, err := loadColumns(ctx, conn, s.set.rejects)
	if err != nil {
		return err
	}
	if cols == nil {
		return nil
	}
	if _, ok := cols["error_type"]; !ok {
		return nil
	}
	q := `SELECT coalesce(error_type, ''), count(*) FROM ` + table
	var args []any
	if _, ok := cols["pipeline"]; ok {
		q += ` WHERE pipeline = $1`
		args = append(args, s.pipeline)
	}
	rows, err := conn.Query(ctx, q+` GROUP BY 1`, args...)
	if err != nil {
		return fmt.Errorf("count the rejects in %s: %w", table, err)
	}
	defer rows.Close()
	st.Rejects = map[string]int64{}
	for rows.Next() {
		var typ string
		var n int64
		if err := rows.Scan(&typ, &n); err != nil {
			return fmt.Errorf("count the rejects in %s: %w", table, err)
		}
		st.Rejects[typ] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count the rejects in %s: %w", table, err)
	}
	return nil
}
