using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Keys;
using RelayKit.AspNetCore.Storage;
using RelayKit.AspNetCore.Tests.TestHost;
using static RelayKit.AspNetCore.Tests.Admin.AdminCalls;

namespace RelayKit.AspNetCore.Tests.Admin;

/// <summary>
/// A key created with a paid credit whose own write fails after the credit landed: the payment webhook's retry with the
/// same reference stores the key on the account the credit went to, and the money is credited exactly once.
/// </summary>
public sealed class CreateKeyRetryTests
{
    [SkippableTheory]
    [InlineData(AdminStorage.InMemory)]
    [InlineData(AdminStorage.Sqlite)]
    [InlineData(AdminStorage.PostgreSql)]
    public async Task A_creation_retried_after_the_key_write_failed_stores_the_key_where_the_credit_went_once(AdminStorage storage)
    {
        FailingKeyStore? failing = null;
        await using var app = new AdminRelayApp(storage, services: s => s.AddSingleton<IRelayKeyStore>(sp =>
            failing = new FailingKeyStore(RelayStores.CreateKeyStore(sp, sp.GetRequiredService<BudgetStorageOptions>()))));
        using var admin = app.CreateAdminClient();
        var request = new { name = "paid", credit = 5m, credit_reference = "pay_retry_1" };

        var first = await PostJsonAsync(admin, KeysPath, request);
        var retry = await PostJsonAsync(admin, KeysPath, request);
        var again = await PostJsonAsync(admin, KeysPath, request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.Status);
        Assert.Equal("store_unavailable", first.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, failing!.Failures);
        Assert.Equal(HttpStatusCode.Created, retry.Status);
        var id = retry.Body.GetProperty("id").GetString()!;
        Assert.Equal(id, Assert.Single(await app.KeyStore.ListAsync()).Id);
        Assert.Equal(5m, (await GetJsonAsync(admin, $"{KeysPath}/{id}/balance")).Body.GetProperty("balance").GetDecimal());
        // Once the key exists, the reference is spent: a third delivery creates nothing and credits nothing.
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal("reference_conflict", again.Body.GetProperty("error").GetProperty("code").GetString());

        // The key works: its secret authenticates.
        using var models = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        models.Headers.Authorization = new("Bearer", retry.Body.GetProperty("secret").GetString());
        using var answer = await app.CreateClient().SendAsync(models);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    private sealed class FailingKeyStore(IRelayKeyStore inner) : IRelayKeyStore
    {
        public int Failures { get; private set; }

        public Task AddAsync(CreatedRelayKey key, CancellationToken cancellationToken = default)
        {
            if (Failures == 0)
            {
                Failures++;
                throw new TimeoutException("The key store timed out.");
            }

            return inner.AddAsync(key, cancellationToken);
        }

        public Task<CreatedRelayKey?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public Task<CreatedRelayKey?> FindByHashAsync(byte[] secretSha256, CancellationToken cancellationToken = default) => inner.FindByHashAsync(secretSha256, cancellationToken);

        public Task<IReadOnlyList<CreatedRelayKey>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

        public Task<CreatedRelayKey?> RevokeAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) => inner.RevokeAsync(id, at, cancellationToken);

        public Task<CreatedRelayKey?> CloseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) => inner.CloseAsync(id, at, cancellationToken);
    }
}
