using System.Security.Cryptography;
using System.Text;
using RelayKit.AspNetCore.Keys;

namespace RelayKit.AspNetCore.Tests.Keys;

/// <summary>What every <see cref="IRelayKeyStore"/> must do, run against each implementation.</summary>
public abstract class RelayKeyStoreContract : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private IRelayKeyStore? _store;

    internal abstract IRelayKeyStore CreateStore();

    internal IRelayKeyStore Store => _store ??= CreateStore();

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        switch (_store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }

    [SkippableFact]
    public async Task A_key_is_found_by_id_and_by_hash_with_every_field_kept()
    {
        var key = NewKey("key_a", "rk-secret-a", ["gpt-*", "claude-opus-4-8"], Now.AddDays(30));
        await Store.AddAsync(key);

        var byId = await Store.GetAsync("key_a");
        var byHash = await Store.FindByHashAsync(Hash("rk-secret-a"));

        foreach (var found in new[] { byId, byHash })
        {
            Assert.NotNull(found);
            Assert.Equal("key_a", found.Id);
            Assert.Equal("name of key_a", found.Name);
            Assert.Equal(Hash("rk-secret-a"), found.SecretSha256);
            Assert.Equal(["gpt-*", "claude-opus-4-8"], found.Models);
            Assert.Equal(Now, found.CreatedAt);
            Assert.Equal(Now.AddDays(30), found.ExpiresAt);
            Assert.Null(found.RevokedAt);
            Assert.Null(found.ClosedAt);
        }

        Assert.Null(await Store.FindByHashAsync(Hash("rk-secret-b")));
        Assert.Null(await Store.GetAsync("key_b"));
    }

    [SkippableFact]
    public async Task A_duplicate_id_or_secret_is_refused()
    {
        await Store.AddAsync(NewKey("key_a", "rk-one", [], null));

        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.AddAsync(NewKey("key_a", "rk-two", [], null)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.AddAsync(NewKey("key_b", "rk-one", [], null)));
        Assert.Single(await Store.ListAsync());
    }

    [SkippableFact]
    public async Task Keys_list_oldest_first()
    {
        await Store.AddAsync(NewKey("key_new", "rk-new", [], null) with { CreatedAt = Now.AddMinutes(5) });
        await Store.AddAsync(NewKey("key_old", "rk-old", [], null));

        Assert.Equal(["key_old", "key_new"], (await Store.ListAsync()).Select(k => k.Id));
    }

    [SkippableFact]
    public async Task Revoke_and_close_keep_their_first_timestamp()
    {
        await Store.AddAsync(NewKey("key_a", "rk-a", [], null));

        var revoked = await Store.RevokeAsync("key_a", Now.AddMinutes(1));
        var revokedAgain = await Store.RevokeAsync("key_a", Now.AddMinutes(2));
        var closed = await Store.CloseAsync("key_a", Now.AddMinutes(3));
        var closedAgain = await Store.CloseAsync("key_a", Now.AddMinutes(4));

        Assert.Equal(Now.AddMinutes(1), revoked?.RevokedAt);
        Assert.Equal(Now.AddMinutes(1), revokedAgain?.RevokedAt);
        Assert.Equal(Now.AddMinutes(3), closed?.ClosedAt);
        Assert.Equal(Now.AddMinutes(3), closedAgain?.ClosedAt);
        Assert.False((await Store.FindByHashAsync(Hash("rk-a")))!.IsUsableAt(Now));
        Assert.Null(await Store.RevokeAsync("key_nobody", Now));
        Assert.Null(await Store.CloseAsync("key_nobody", Now));
    }

    private static CreatedRelayKey NewKey(string id, string secret, string[] models, DateTimeOffset? expires) =>
        new(id, "name of " + id, Hash(secret), models, Now, expires, null, null);

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
