using System.Text.Json;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Tests.Protocols;

public sealed class RequestFieldReaderTests
{
    [Fact]
    public void Chat_completions_read_model_stream_and_the_larger_of_both_token_caps()
    {
        var result = Read(RelayOperation.ChatCompletions, """{"model":"gpt-5.5","stream":true,"max_tokens":10,"max_completion_tokens":99,"messages":[]}""");
        var older = Read(RelayOperation.ChatCompletions, """{"model":"gpt-5.5","max_tokens":99,"max_completion_tokens":10,"messages":[]}""");

        Assert.Equal(new RelayRequestFields("gpt-5.5", true, 99), result.Fields);
        Assert.Equal(new RelayRequestFields("gpt-5.5", false, 99), older.Fields);
    }

    [Fact]
    public void Responses_read_max_output_tokens()
    {
        var result = Read(RelayOperation.Responses, """{"model":"gpt-5.5","input":"hi","max_output_tokens":64}""");

        Assert.Equal(new RelayRequestFields("gpt-5.5", false, 64), result.Fields);
    }

    [Fact]
    public void Messages_read_max_tokens_and_stream()
    {
        var result = Read(RelayOperation.Messages, """{"model":"claude-code-opus-4.8","max_tokens":1024,"stream":false,"messages":[]}""");

        Assert.Equal(new RelayRequestFields("claude-code-opus-4.8", false, 1024), result.Fields);
    }

    [Fact]
    public void Embeddings_never_stream()
    {
        var result = Read(RelayOperation.Embeddings, """{"model":"text-embedding-3-small","input":"x","stream":true}""");

        Assert.Equal(new RelayRequestFields("text-embedding-3-small", false, null), result.Fields);
    }

    [Theory]
    [InlineData("""{"messages":[]}""", "missing_required_parameter", "model")]
    [InlineData("""{"model":null}""", "missing_required_parameter", "model")]
    [InlineData("""{"model":42}""", "invalid_type", "model")]
    [InlineData("""{"model":"  "}""", "invalid_type", "model")]
    [InlineData("""{"model":"gpt-5.5","stream":"yes"}""", "invalid_type", "stream")]
    [InlineData("""{"model":"gpt-5.5","max_completion_tokens":1.5}""", "invalid_type", "max_completion_tokens")]
    [InlineData("""{"model":"gpt-5.5","max_tokens":-1}""", "invalid_type", "max_tokens")]
    [InlineData("""{"model":"gpt-5.5","max_completion_tokens":5,"max_tokens":1e20}""", "invalid_type", "max_tokens")]
    [InlineData("""{"model":"gpt-5.5","max_completion_tokens":"5","max_tokens":5}""", "invalid_type", "max_completion_tokens")]
    [InlineData("""{"model":"gpt-5.5\u0000"}""", "invalid_type", "model")]
    [InlineData("""{"model":"gpt-5.5\nINFO forged log line"}""", "invalid_type", "model")]
    [InlineData("""{"model":"gpt\u007f"}""", "invalid_type", "model")]
    [InlineData("""{"model":"gpt-5.5","n":0}""", "invalid_type", "n")]
    [InlineData("""{"model":"gpt-5.5","n":1e20}""", "invalid_type", "n")]
    [InlineData("""{"model":"gpt-5.5","n":2.5}""", "invalid_type", "n")]
    [InlineData("""{"model":"gpt-5.5","n":"2"}""", "invalid_type", "n")]
    public void A_bad_policy_field_is_a_400_naming_the_field(string body, string code, string param)
    {
        var error = Read(RelayOperation.ChatCompletions, body).Error;

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal(code, error.Code);
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void Chat_n_of_one_or_more_or_null_is_read_and_only_chat_checks_n()
    {
        Assert.Null(Read(RelayOperation.ChatCompletions, """{"model":"gpt-5.5","n":3}""").Error);
        Assert.Null(Read(RelayOperation.ChatCompletions, """{"model":"gpt-5.5","n":null}""").Error);
        Assert.Null(Read(RelayOperation.Responses, """{"model":"gpt-5.5","n":0}""").Error);
    }

    private static RelayReadResult Read(RelayOperation operation, string json)
    {
        using var document = JsonDocument.Parse(json);
        return operation.ReadFields(document.RootElement);
    }
}
