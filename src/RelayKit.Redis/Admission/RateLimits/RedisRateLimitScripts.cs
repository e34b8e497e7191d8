namespace RelayKit.AspNetCore.Admission.RateLimits;

/// <summary>
/// The Lua scripts of <see cref="RedisRelayRateLimiter"/>. Redis runs each script atomically, so
/// checking every limit of a request and taking from all of them is one step across all instances.
/// </summary>
/// <remarks>
/// Buckets are hashes <c>{level, at, limit}</c> with the same arithmetic as <see cref="TokenBucket"/>:
/// they hold <c>limit</c> and refill at <c>limit</c> per minute. Time comes from the caller
/// (<see cref="TimeProvider"/>, in Unix milliseconds), not from Redis, so tests drive it with
/// <c>FakeTimeProvider</c>; a clock behind the stored time refills nothing rather than going back.
/// Concurrency slots are sorted sets of lease id → expiry; expired members are dropped before counting,
/// so the slots of a crashed instance come back once their lease expires.
/// </remarks>
internal static class RedisRateLimitScripts
{
    // Keys outlive the moment their bucket is full by a minute, so a key never vanishes while its
    // state still matters even if the caller's and Redis's clocks drift apart.
    private const string Refill = """
        local function refill(key, limit, now)
          local state = redis.call('HMGET', key, 'level', 'at', 'limit')
          local level, at, old = tonumber(state[1]), tonumber(state[2]), tonumber(state[3])
          if level == nil or at == nil or old == nil then
            return limit, now
          end
          if old ~= limit then level = level + limit - old end
          if now > at then
            level = math.min(limit, level + (now - at) * limit / 60000)
            at = now
          end
          return level, at
        end
        local function store(key, limit, level, at)
          redis.call('HSET', key, 'level', level, 'at', at, 'limit', limit)
          redis.call('PEXPIRE', key, math.ceil((limit - level) * 60000 / limit) + 60000)
        end
        """;

    /// <summary>
    /// KEYS: one per limit. ARGV: now (ms), lease id, lease expiry (ms), then per limit: kind
    /// (<c>r</c> rate or <c>c</c> concurrency), limit, cost. Returns: admitted (1/0), then per limit:
    /// verdict (1 passes, 0 not now, -1 never), remaining, milliseconds until it passes (when it does
    /// not) and milliseconds until full (rate limits only).
    /// </summary>
    public const string Acquire = Refill + """

        local now, lease, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
        local levels, stamps, verdicts = {}, {}, {}
        local admitted = 1
        for i = 1, #KEYS do
          local b = 3 + (i - 1) * 3
          local kind, limit, cost = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
          local verdict = 1
          if kind == 'c' then
            redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
            levels[i] = limit - redis.call('ZCARD', KEYS[i])
            if levels[i] < cost then verdict = 0 end
          else
            levels[i], stamps[i] = refill(KEYS[i], limit, now)
            if cost > limit then verdict = -1
            elseif levels[i] + 1e-6 < cost then verdict = 0 end
          end
          verdicts[i] = verdict
          if verdict ~= 1 then admitted = 0 end
        end
        local result = { admitted }
        for i = 1, #KEYS do
          local b = 3 + (i - 1) * 3
          local kind, limit, cost = ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
          local level, wait, reset = levels[i], 0, 0
          if kind == 'c' then
            if admitted == 1 then
              redis.call('ZADD', KEYS[i], now + ttl, lease)
              redis.call('PEXPIRE', KEYS[i], ttl + 60000)
              level = level - cost
            end
          else
            if admitted == 1 then
              level = level - cost
              store(KEYS[i], limit, level, stamps[i])
            end
            if verdicts[i] == 0 then wait = math.ceil((cost - level) * 60000 / limit - 1e-6) end
            reset = math.ceil((limit - level) * 60000 / limit - 1e-6)
          end
          table.insert(result, verdicts[i])
          table.insert(result, math.max(0, math.floor(level + 1e-6)))
          table.insert(result, math.max(0, wait))
          table.insert(result, math.max(0, reset))
        end
        return result
        """;

    /// <summary>
    /// KEYS: buckets (tokens-per-minute, or requests-per-minute when a request refused before forwarding gives its
    /// one back). ARGV: now (ms), delta (what to take, negative to give back), then the
    /// limit of each bucket as charged (a bucket's stored limit wins when it still exists).
    /// </summary>
    public const string CorrectTokens = Refill + """

        local now, delta = tonumber(ARGV[1]), tonumber(ARGV[2])
        for i = 1, #KEYS do
          local limit = tonumber(redis.call('HGET', KEYS[i], 'limit')) or tonumber(ARGV[2 + i])
          local level, at = refill(KEYS[i], limit, now)
          store(KEYS[i], limit, math.min(limit, level - delta), at)
        end
        return 1
        """;

    /// <summary>KEYS: concurrency sets. ARGV: lease id.</summary>
    public const string Release = """
        for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
        return 1
        """;

    /// <summary>
    /// KEYS: concurrency sets. ARGV: lease id, new expiry (ms), key time-to-live (ms). Renews only a
    /// slot still held: one that already expired was possibly given to someone else.
    /// </summary>
    public const string Renew = """
        local renewed = 0
        for i = 1, #KEYS do
          if redis.call('ZSCORE', KEYS[i], ARGV[1]) then
            redis.call('ZADD', KEYS[i], 'XX', ARGV[2], ARGV[1])
            redis.call('PEXPIRE', KEYS[i], ARGV[3])
            renewed = renewed + 1
          end
        end
        return renewed
        """;
}
