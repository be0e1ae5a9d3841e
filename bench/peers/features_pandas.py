"""pandas peer of the ingest + features bench: the same per-user aggregation as cohortlab's features SQL
(sessions by window, active days, distinct core features, taxonomy counts, recency, tenure, latest plan)
on the same events CSV. Prints one JSON line with timings. Run with /usr/bin/python3 (Debian python3-pandas)."""
import json, resource, sys, time
import numpy as np
import pandas as pd

path, as_of = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
df = pd.read_csv(path, dtype={"user_id": str, "event": str, "session_id": str, "plan": str}, usecols=["user_id", "timestamp", "event", "session_id", "plan", "signup_at"])
df["ts"] = pd.to_datetime(df["timestamp"], utc=True)
df["signup"] = pd.to_datetime(df["signup_at"], utc=True)
t1 = time.perf_counter()
cutoff = pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1)
ev = df[df["ts"] < cutoff].copy()
ev["di"] = ((cutoff - ev["ts"]).dt.total_seconds() // 86400).astype(np.int64)
core = {"created_project", "added_task", "completed_task", "invited_member", "used_template", "connected_integration", "commented", "uploaded_file", "created_report", "shared_item"}
ev["is_core"] = ev["event"].isin(core)
cat = {"invites_14d": ("invited_member", 14), "shares_14d": ("shared_item", 14), "pricing_views_14d": ("viewed_pricing", 14), "locked_clicks_14d": ("clicked_locked_feature", 14),
       "support_tickets_7d": ("opened_support_ticket", 7), "failed_payments_30d": ("payment_failed", 30), "downgrades_30d": ("downgraded_plan", 30), "cancel_page_views_30d": ("viewed_cancel_page", 30)}
for name, (e, w) in cat.items():
    ev[name] = (ev["event"] == e) & (ev["di"] < w)
g = ev.groupby("user_id", sort=True)
out = pd.DataFrame({
    "events_30d": g["di"].apply(lambda s: (s < 30).sum()),
    "last": g["ts"].max(), "first": g["ts"].min(), "signup": g["signup"].min(),
})
for name in cat:
    out[name] = g[name].sum()
d30 = ev[ev["di"] < 30]
out["active_days_30d"] = d30.groupby("user_id")["di"].nunique()
out["active_days_7d"] = ev[ev["di"] < 7].groupby("user_id")["di"].nunique()
out["features_used_30d"] = d30[d30["is_core"]].groupby("user_id")["event"].nunique()
s = ev.groupby(["user_id", "session_id"]).agg(start=("ts", "min"), end=("ts", "max"), n=("ts", "size")).reset_index()
s["di"] = ((cutoff - s["start"]).dt.total_seconds() // 86400).astype(np.int64)
sg = s.groupby("user_id")
out["sessions_7d"] = sg["di"].apply(lambda x: (x < 7).sum())
out["avg_weekly_sessions_28d"] = sg["di"].apply(lambda x: (x < 28).sum() / 4.0)
s30 = s[s["di"] < 30]
out["avg_session_minutes_30d"] = ((s30["end"] - s30["start"]).dt.total_seconds() / 60).groupby(s30["user_id"]).mean()
s = s.sort_values(["user_id", "start"])
s["gap"] = s.groupby("user_id")["start"].diff().dt.total_seconds() / 86400
out["typical_gap_days"] = s[s["di"] < 90].groupby("user_id")["gap"].median()
out["days_since_last_activity"] = ((cutoff - out["last"]).dt.total_seconds() // 86400)
out["tenure_days"] = ((cutoff - out[["first", "signup"]].min(axis=1)).dt.total_seconds() // 86400)
out["plan"] = ev.sort_values("ts").groupby("user_id")["plan"].last()
out = out.fillna(0)
t2 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "aggregate": t2 - t1, "total": t2 - t0, "cpu": time.process_time(), "users": int(len(out)), "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
