-- Empties a cache tag set and returns its members, atomically. On a Redis Cluster the members
-- live in other slots than the set, so the caller unlinks them itself (UNLINK is split per
-- slot by the client); a member added after this call lands in a new set, never lost.
-- KEYS[1] the tag set. Returns its members.
local members = redis.call('SMEMBERS', KEYS[1])
redis.call('UNLINK', KEYS[1])
return members
