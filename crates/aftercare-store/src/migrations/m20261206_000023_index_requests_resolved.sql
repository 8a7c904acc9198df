-- The service dashboard counts requests resolved per week and month (issue 13).
CREATE INDEX requests_resolved ON requests (resolved_at);
