using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;

namespace RelayKit.Testing.Tests.Protocols.OpenAI;

public sealed class SmokeTests
{
    [Fact]
    public async Task Chat_and_stream_through_the_official_sdk()
    {
        await using var fake = new FakeUpstream();
        fake.Setup().ForModel("gpt-*").RespondWithText("Hello there, friend.");
        var http = fake.CreateClient();
        var client = new ChatClient("gpt-5.5", new ApiKeyCredential("sk-test"), new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "v1"),
            Transport = new HttpClientPipelineTransport(http),
        });
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.Equal("Hello there, friend.", completion.Content[0].Text);
        Assert.True(completion.Usage.OutputTokenCount > 0);

        var text = "";
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text += part.Text;
            }

            usage ??= update.Usage;
        }

        Assert.Equal("Hello there, friend.", text);
        Assert.NotNull(usage);
        Assert.Equal(completion.Usage.OutputTokenCount, usage.OutputTokenCount);
    }
}
