using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// A request the relay fails itself (a 500 after admission reserved and took a slot) still settles: its hold is let go
/// at once rather than at expiry, its concurrency slot is free for the next request, and it leaves a usage record.
/// </summary>
public sealed class RelayErrorSettlesTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task A_relay_error_after_admission_releases_the_hold_frees_the_slot_and_is_recorded()
    {
        var failing = new FailingAdmission();
        await using var relay = FakeRelay.Create(
            BudgetRelay.Settings(1m, s => s["ModelRelay:Keys:0:MaxConcurrentRequests"] = "1"),
            services => services.AddSingleton<IRelayAdmission>(failing));
        var http = relay.App.CreateClient();

        var (status, body, headers) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);

        Assert.Equal(500, status);
        Assert.Equal("relay_error", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, failing.Calls);
        Assert.Empty(relay.Fake.Requests);
        var (_, charged, held) = await relay.SumsAsync();
        Assert.Equal((0m, 0m), (charged, held));

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.Equal(headers.GetValues("x-request-id").Single(), record.RequestId);
        Assert.Equal(500, record.StatusCode);
        Assert.Equal(0m, record.Cost);

        // The one concurrency slot was given back: the next request (the admission now lets it through) is answered.
        failing.Fail = false;
        var (next, _, _) = await RawRelayCall.PostAsync(http, "/v1/chat/completions", ChatBody, bearer: RelaySettings.AliceKey);
        Assert.Equal(200, next);
    }

    /// <summary>Runs after the relay's own admission steps (registered last) and throws, as a relay bug would.</summary>
    private sealed class FailingAdmission : IRelayAdmission
    {
        public bool Fail { get; set; } = true;

        public int Calls { get; private set; }

        public ValueTask<RelayError?> AdmitAsync(RelayRequestContext context)
        {
            Calls++;
            return Fail ? throw new InvalidOperationException("a relay bug") : ValueTask.FromResult<RelayError?>(null);
        }
    }
}
