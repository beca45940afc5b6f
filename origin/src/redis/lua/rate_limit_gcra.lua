-- The GCRA state transition of common::rate_limit::check, atomically, on Redis's clock (one
-- clock for every instance): tat' = max(tat, now) + cost*T, stored iff cost <= burst and
-- tat' - burst*T <= now, expiring when the bucket is full again. The decision and headers
-- are then computed in Rust by `check` from the two numbers returned, so the rule itself
-- exists once; origin/tests/api/rate_limit.rs runs one request sequence through this script
-- and through `check` and compares every decision and stored TAT.
-- KEYS[1] the client's bucket. ARGV[1] emission interval T (us), ARGV[2] burst, ARGV[3] cost,
-- ARGV[4] (optional) now in us instead of Redis's TIME, for that test.
-- Returns {previous TAT or '', now}, in us since the Unix epoch.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + cost * interval
if cost <= burst and new_tat - burst * interval <= now then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1)
end
return {stored or '', string.format('%.0f', now)}
