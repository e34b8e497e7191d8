using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RelayKit.AspNetCore.Admission.Budgets;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;
using RelayKit.AspNetCore.Routing;
using RelayKit.AspNetCore.Tests.Budgets.Relay;
using RelayKit.AspNetCore.Tests.TestHost;

namespace RelayKit.AspNetCore.Tests.Admission.Budgets;

/// <summary>
/// The hold is the estimator's worst case read in the request's own format. Relay tests compare the reserved header with
/// the dry-run estimate, which runs the same admission code, so a wrong format would agree with itself there; here the
/// hold is checked against the estimator called directly.
/// </summary>
public sealed class BudgetAdmissionFormatTests : IAsyncLifetime
{
    private FakeRelay _relay = null!;

    public Task InitializeAsync()
    {
        _relay = FakeRelay.Create(BudgetRelay.Settings(10m, s =>
        {
            s["ModelRelay:Models:gpt-5.5:MaxOutputTokens"] = "1000";
            s["ModelRelay:Models:claude-code-opus-4.8:MaxOutputTokens"] = "500";
            s["ModelRelay:Budgets:LeaseRequests"] = "0";
        }));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _relay.DisposeAsync();

    [Theory]
    [InlineData("messages", "claude-code-opus-4.8", """{"model":"claude-code-opus-4.8","system":"Answer in verse, at length, with footnotes","messages":[{"role":"user","content":"Hello"}],"max_tokens":50}""")]
    [InlineData("responses", "gpt-5.5", """{"model":"gpt-5.5","instructions":"Answer in verse","input":"Tell me a story about prices","max_output_tokens":50}""")]
    [InlineData("embeddings", "gpt-5.5", """{"model":"gpt-5.5","input":"a cat on a mat"}""")]
    [InlineData("chat", "gpt-5.5", """{"model":"gpt-5.5","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":50}""")]
    public void The_hold_is_the_worst_case_read_in_the_requests_own_format(string endpoint, string model, string body)
    {
        var (operation, format) = endpoint switch
        {
            "messages" => (RelayOperation.Messages, PromptFormat.AnthropicMessages),
            "responses" => (RelayOperation.Responses, PromptFormat.OpenAIResponses),
            "embeddings" => (RelayOperation.Embeddings, PromptFormat.OpenAIEmbeddings),
            _ => (RelayOperation.ChatCompletions, PromptFormat.OpenAIChat),
        };
        var services = _relay.App.Services;
        var candidate = services.GetRequiredService<ModelRouter>().Table.Resolve(model)[0];
        var prices = services.GetRequiredService<RelayPriceCatalog>();
        var price = prices.PriceOf(candidate)!;
        using var document = JsonDocument.Parse(body);
        var expected = services.GetRequiredService<WorstCaseEstimator>().Estimate(document.RootElement, format, candidate.UpstreamModel, price, prices.OutputCapOf(candidate));

        var (estimate, error) = services.GetRequiredService<BudgetAdmission>().Estimate(Context(operation, body, candidate));

        Assert.Null(error);
        Assert.Equal(expected, estimate);
        Assert.Equal(format, operation.PromptFormat);
        if (format != PromptFormat.OpenAIChat)
        {
            // Read as a chat request the same body holds a different amount: the test can tell the formats apart.
            var asChat = services.GetRequiredService<WorstCaseEstimator>().Estimate(document.RootElement, PromptFormat.OpenAIChat, candidate.UpstreamModel, price, prices.OutputCapOf(candidate));
            Assert.NotEqual(asChat.Cost, estimate!.Cost);
        }
    }

    [Fact]
    public void Operations_with_no_prompt_to_price_have_no_format_and_money_is_written_without_trailing_zeros()
    {
        Assert.Null(RelayOperation.CountTokens.PromptFormat);
        Assert.False(RelayOperation.CountTokens.Metered);
        Assert.Null(RelayOperation.ListModels.PromptFormat);
        Assert.Equal("0.0051", BudgetAdmission.FormatMoney(0.005100000m));
        Assert.Equal("10", BudgetAdmission.FormatMoney(10.000m));
        Assert.Equal("0.0000000001", BudgetAdmission.FormatMoney(0.00000000012m));
    }

    private RelayRequestContext Context(RelayOperation operation, string body, UpstreamCandidate candidate)
    {
        var raw = Encoding.UTF8.GetBytes(body);
        var document = JsonDocument.Parse(raw);
        var http = new DefaultHttpContext { RequestServices = _relay.App.Services };
        var context = new RelayRequestContext(http, operation, operation.Format, "req_" + Guid.NewGuid().ToString("N"), DateTimeOffset.UnixEpoch)
        {
            Body = new RelayRequestBody(raw, document),
            Candidates = [candidate],
        };
        context.Fields = operation.ReadFields(document.RootElement).Fields;
        return context;
    }
}
