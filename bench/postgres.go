package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// freshDatabase creates a new database on the PostgreSQL server at base
// (postgres://USER[:PASSWORD]@HOST:PORT, no database) and returns its URL.
func freshDatabase(ctx context.Context, base, prefix string) (string, error) {
	base = strings.TrimSuffix(base, "/")
	conn, err := pgx.Connect(ctx, base+"/postgres")
	if err != nil {
		return "", fmt.Errorf("-postgres: connect: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("-postgres: create database: %w", err)
	}
	return base + "/" + name, nil
}
