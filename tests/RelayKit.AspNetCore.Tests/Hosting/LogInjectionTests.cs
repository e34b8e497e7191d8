using OpenAI.Chat;
using RelayKit.AspNetCore.Tests.TestHost;
using RelayKit.AspNetCore.Tests.Usage;

namespace RelayKit.AspNetCore.Tests.Hosting;

/// <summary>Values a caller or an admin controls reach log lines escaped and scrubbed, as they reach usage records.</summary>
public sealed class LogInjectionTests
{
    [Fact]
    public async Task A_key_name_with_line_breaks_is_logged_escaped_and_cannot_forge_a_line()
    {
        await using var relay = FakeRelay.Create(s => s.With("ModelRelay:Keys:0:Name", "alice\r\nFAKE Relayed admin key"));
        relay.Fake.Setup().RespondWithText("ok");

        await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient("gpt-5.5").CompleteChatAsync([new UserChatMessage("hi")]);

        var relayed = Assert.Single(relay.App.Logs.GetSnapshot(), r => r.Message.StartsWith("Relayed ", StringComparison.Ordinal));
        Assert.DoesNotContain('\n', relayed.Message);
        Assert.DoesNotContain('\r', relayed.Message);
        Assert.Contains(@"key alice\r\nFAKE Relayed admin key to", relayed.Message, StringComparison.Ordinal);
        Assert.Equal(@"alice\r\nFAKE Relayed admin key", relayed.StructuredState!.Single(p => p.Key == "KeyName").Value);
    }

    [Fact]
    public async Task A_secret_looking_model_name_is_redacted_in_the_Relayed_line_as_in_the_usage_record()
    {
        const string model = "gpt-sk-proj-AbCdEf0123456789xyzSECRET";
        await using var relay = FakeRelay.Create(s => s.With($"ModelRelay:Models:{model}:Provider", "openai"));
        relay.Fake.Setup().RespondWithText("ok");

        await relay.App.CreateOpenAiClient(RelaySettings.AliceKey).GetChatClient(model).CompleteChatAsync([new UserChatMessage("hi")]);

        var record = Assert.Single(await relay.WaitForRecordsAsync(1));
        Assert.DoesNotContain("AbCdEf0123456789", record.RequestedModel, StringComparison.Ordinal);
        var relayed = Assert.Single(relay.App.Logs.GetSnapshot(), r => r.Message.StartsWith("Relayed ", StringComparison.Ordinal));
        Assert.Contains($"Relayed chat.completions {record.RequestedModel} for key alice", relayed.Message, StringComparison.Ordinal);
        Assert.All(relay.App.Logs.GetSnapshot(), r => Assert.DoesNotContain("AbCdEf0123456789", r.Message, StringComparison.Ordinal));
    }
}
