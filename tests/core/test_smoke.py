def test_healthz_reports_database_and_stale_worker(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "worker": "stale"}
