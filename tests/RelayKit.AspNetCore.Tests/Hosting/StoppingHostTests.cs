using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>
/// A request that reaches the relay after the host, stopping, has disposed the relay's stores (it came in, or still
/// ran, past the host's shutdown timeout) is told to retry with a 503 in its own wire format, not a 500 that reads
/// like a relay bug; an object disposed while the host is not stopping still is one.
/// </summary>
public sealed class StoppingHostTests
{
    private const string ChatBody = """{"model":"gpt-5.5","max_tokens":50,"messages":[{"role":"user","content":"Hello."}]}""";
    private const string MessagesBody = """{"model":"claude-code-opus-4.8","max_tokens":50,"messages":[{"role":"user","content":"Hello."}]}""";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task Request_after_the_stopping_host_closed_the_ledger_gets_a_503_to_retry(bool anthropic) =>
        SqliteLedgerFile.RunAsync(async ledgerFile =>
        {
            await using var relay = BudgetRelay.Create(1m, ledgerFile);
            var http = relay.App.CreateClient();
            using (var before = Request(anthropic))
            using (var answered = await http.SendAsync(before))
            {
                Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            }

            relay.App.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
            await ((IAsyncDisposable)relay.Ledger()).DisposeAsync();

            using var late = Request(anthropic);
            using var response = await http.SendAsync(late);
            var text = await response.Content.ReadAsStringAsync();
            var requestId = response.Headers.GetValues("x-request-id").Single();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("true", response.Headers.GetValues("x-should-retry").Single());
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            if (anthropic)
            {
                Assert.Equal("overloaded_error", error.GetProperty("type").GetString());
            }
            else
            {
                Assert.Equal("server_error", error.GetProperty("type").GetString());
                Assert.Equal("relay_stopping", error.GetProperty("code").GetString());
            }

            Assert.Contains(requestId, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);

            var logged = relay.App.Logs.GetSnapshot().Single(r => r.Message.Contains(requestId, StringComparison.Ordinal) && r.Level == LogLevel.Warning);
            Assert.Contains("503", logged.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(relay.App.Logs.GetSnapshot(), r => r.Level >= LogLevel.Error);
        });

    [Fact]
    public Task Ledger_disposed_while_the_host_runs_is_still_a_relay_error() =>
        SqliteLedgerFile.RunAsync(async ledgerFile =>
        {
            await using var relay = BudgetRelay.Create(1m, ledgerFile);
            var http = relay.App.CreateClient();
            await ((IAsyncDisposable)relay.Ledger()).DisposeAsync();

            using var request = Request(anthropic: false);
            using var response = await http.SendAsync(request);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Equal("relay_error", error.GetProperty("code").GetString());
            Assert.Contains(relay.App.Logs.GetSnapshot(), r => r.Level == LogLevel.Error && r.Exception is ObjectDisposedException);
        });

    private static HttpRequestMessage Request(bool anthropic) => anthropic
        ? BudgetRelay.Post("/v1/messages", MessagesBody, anthropic: true)
        : BudgetRelay.Post("/v1/chat/completions", ChatBody);
}
