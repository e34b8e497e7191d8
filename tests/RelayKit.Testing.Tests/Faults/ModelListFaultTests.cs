using System.ClientModel;
using Anthropic.Exceptions;
using Anthropic.Models.Models;
using OpenAI.Chat;
using RelayKit.Testing.Tests.Protocols.Anthropic;
using RelayKit.Testing.Tests.Protocols.OpenAI;

namespace RelayKit.Testing.Tests.Faults;

/// <summary>
/// Model lists (what a health check calls) fail by script like completions: a fault rule that matches them answers them;
/// a rule with only a reply is a completion's and neither answers nor counts them.
/// </summary>
public sealed class ModelListFaultTests
{
    [Fact]
    public async Task A_fault_rule_for_the_model_list_fails_it_in_the_OpenAI_shape_and_leaves_completions_alone()
    {
        await using var fake = new FakeUpstream();

        // A reply is a completion's: the rule neither answers nor counts the model list, so its first call is the chat.
        var reply = fake.Setup().OnCall(1).RespondWithText("The scripted answer.");
        var rule = fake.Setup().ForEndpoint(FakeEndpoint.OpenAIModels).WithFault(FakeFault.ServerError(503));
        var client = OpenAITestClients.InMemory(fake, new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.GetOpenAIModelClient().GetModelsAsync());
        var completion = await client.GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal(503, error.Status);
        Assert.Contains("\"server_error\"", error.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, rule.AnswerCount);
        Assert.Equal(200, fake.Requests[1].StatusCode);
        Assert.Equal("The scripted answer.", completion.Value.Content[0].Text);
        Assert.Equal(1, reply.AnswerCount);
    }

    [Fact]
    public async Task A_fault_rule_fails_the_Anthropic_model_list_until_its_times_run_out()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().When(r => r.Path == "/v1/models").Times(1).WithFault(FakeFault.Overloaded());
        var client = AnthropicSdk.Client(fake);

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Models.List(new ModelListParams()));
        var page = await client.Models.List(new ModelListParams());

        Assert.Equal(529, (int)error.StatusCode);
        Assert.Equal(FakeEndpoint.AnthropicModels, fake.Requests[0].Endpoint);
        Assert.Equal(fake.Options.AnthropicModels, page.Items.Select(m => m.ID));
    }
}
