using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Keys;

public sealed class CreatedKeyLookupTests
{
    private static readonly byte[] Hash = SHA256.HashData(Encoding.UTF8.GetBytes("rk-created"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryRelayKeyStore _store = new();

    [Fact]
    public async Task A_revoke_made_elsewhere_is_seen_once_the_cache_duration_passes()
    {
        var lookup = Lookup(TimeSpan.FromSeconds(30));
        await _store.AddAsync(new CreatedRelayKey("key_x", "x", Hash, ["gpt-*"], _time.GetUtcNow(), null, null, null));

        var first = await lookup.FindAsync(Hash, default);
        await _store.RevokeAsync("key_x", _time.GetUtcNow()); // another instance: this lookup is not told
        var stale = await lookup.FindAsync(Hash, default);
        _time.Advance(TimeSpan.FromSeconds(30));
        var fresh = await lookup.FindAsync(Hash, default);

        Assert.Equal("key_x", first?.KeyName);
        Assert.True(first!.MayUse("gpt-5.5"));
        Assert.False(first.MayUse("claude-opus-4-8"));
        Assert.Equal("key_x", stale?.KeyName);
        Assert.Null(fresh);
    }

    [Fact]
    public async Task Invalidate_drops_the_cached_key_at_once()
    {
        var lookup = Lookup(TimeSpan.FromMinutes(5));
        await _store.AddAsync(new CreatedRelayKey("key_x", "x", Hash, [], _time.GetUtcNow(), null, null, null));
        Assert.NotNull(await lookup.FindAsync(Hash, default));

        var revoked = await _store.RevokeAsync("key_x", _time.GetUtcNow());
        lookup.Invalidate(revoked!);

        Assert.Null(await lookup.FindAsync(Hash, default));
    }

    [Fact]
    public async Task Expiry_is_checked_on_every_lookup_even_from_the_cache()
    {
        var lookup = Lookup(TimeSpan.FromHours(1));
        await _store.AddAsync(new CreatedRelayKey("key_x", "x", Hash, [], _time.GetUtcNow(), _time.GetUtcNow().AddSeconds(10), null, null));

        var before = await lookup.FindAsync(Hash, default);
        _time.Advance(TimeSpan.FromSeconds(10));
        var after = await lookup.FindAsync(Hash, default);

        Assert.NotNull(before);
        Assert.Null(after);
    }

    [Fact]
    public async Task A_lookup_that_read_the_key_before_a_revoke_does_not_cache_it_after_the_invalidate()
    {
        await _store.AddAsync(new CreatedRelayKey("key_x", "x", Hash, [], _time.GetUtcNow(), null, null, null));
        var slow = new HeldReadStore(_store);
        var lookup = Lookup(TimeSpan.FromMinutes(5), slow);

        // A request's lookup reads the key while it is still active, and is held before it can cache it ...
        var racing = lookup.FindAsync(Hash, default).AsTask();
        await slow.Read.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // ... while the operations API revokes the key and invalidates it here.
        var revoked = await _store.RevokeAsync("key_x", _time.GetUtcNow());
        lookup.Invalidate(revoked!);
        slow.Release.SetResult();

        Assert.NotNull(await racing);
        Assert.Null(await lookup.FindAsync(Hash, default));
    }

    private CreatedKeyLookup Lookup(TimeSpan cacheDuration, IRelayKeyStore? store = null)
    {
        var options = new ModelRelayOptions();
        options.Admin.KeyCacheDuration = cacheDuration;
        return new CreatedKeyLookup(store ?? _store, _time, new StaticOptionsMonitor<ModelRelayOptions>(options));
    }

    /// <summary>Reads the key at once but hands it back only when released (the first read only).</summary>
    private sealed class HeldReadStore(IRelayKeyStore inner) : IRelayKeyStore
    {
        public TaskCompletionSource Read { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<CreatedRelayKey?> FindByHashAsync(byte[] secretSha256, CancellationToken cancellationToken = default)
        {
            var key = await inner.FindByHashAsync(secretSha256, cancellationToken);
            if (Read.TrySetResult())
            {
                await Release.Task;
            }

            return key;
        }

        public Task AddAsync(CreatedRelayKey key, CancellationToken cancellationToken = default) => inner.AddAsync(key, cancellationToken);

        public Task<CreatedRelayKey?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public Task<IReadOnlyList<CreatedRelayKey>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

        public Task<CreatedRelayKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) => inner.RevokeAsync(id, at, cancellationToken);

        public Task<CreatedRelayKey?> CloseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) => inner.CloseAsync(id, at, cancellationToken);
    }
}
