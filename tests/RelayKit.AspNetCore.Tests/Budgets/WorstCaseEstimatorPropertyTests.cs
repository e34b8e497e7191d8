using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bogus;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;
using RelayKit.AspNetCore.Budgets;
using RelayKit.AspNetCore.Pricing;

namespace RelayKit.AspNetCore.Tests.Budgets;

/// <summary>
/// The estimate is never below what the request can really cost. "Really" is modelled as: the
/// prompt rendered the way a provider renders it (roles, text, tool calls, tool definitions as
/// JSON) and counted in one piece by the model's tokenizer — scaled by the documented margin when
/// the model's own tokenizer is not available — each image up to its allowance, the prompt split
/// at random over input, cached and cache-write tokens, and any output up to the limit.
/// </summary>
public sealed class WorstCaseEstimatorPropertyTests
{
    private const int Cases = 120;
    private static readonly string[] Locales = ["en", "ru", "ja", "zh_CN", "ar", "de", "ko"];
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly BudgetEstimateOptions _options = new();
    private readonly WorstCaseEstimator _estimator;
    private readonly PromptTokenCounter _counter = new();
    private readonly ModelPriceCatalog _catalog = new();

    public WorstCaseEstimatorPropertyTests() => _estimator = new WorstCaseEstimator(_counter, Options.Create(_options));

    [Theory]
    [InlineData("gpt-4o")]
    [InlineData("gpt-4.1-mini")]
    [InlineData("o4-mini")]
    [InlineData("deepseek-chat")]
    public void Chat_estimate_is_never_below_the_actual_cost(string model) =>
        Check(model, PromptFormat.OpenAIChat, GenerateChat);

    [Theory]
    [InlineData("gpt-5")]
    [InlineData("gpt-4o-mini")]
    public void Responses_estimate_is_never_below_the_actual_cost(string model) =>
        Check(model, PromptFormat.OpenAIResponses, GenerateResponses);

    [Theory]
    [InlineData("claude-sonnet-4-5")]
    [InlineData("claude-opus-4-1")]
    [InlineData("claude-haiku-4-5-20251001")]
    public void Anthropic_estimate_is_never_below_the_actual_cost(string model) =>
        Check(model, PromptFormat.AnthropicMessages, GenerateAnthropic);

    [Fact]
    public void Embeddings_estimate_is_never_below_the_actual_cost() =>
        Check("text-embedding-3-small", PromptFormat.OpenAIEmbeddings, GenerateEmbeddings);

    private void Check(string model, PromptFormat format, Func<Faker, Generated> generate)
    {
        Assert.True(_catalog.TryGetPrice(model, out var price));
        var cap = _catalog.GetOutputCap(model);
        var (tokenizer, exact) = _counter.For(model);

        for (var seed = 0; seed < Cases; seed++)
        {
            var faker = new Faker(Locales[seed % Locales.Length]) { Random = new Randomizer(seed) };
            var generated = generate(faker);
            var body = JsonSerializer.SerializeToElement(generated.Body);
            var estimate = _estimator.Estimate(body, format, model, price, cap);

            // The bound that refuses a large prompt before it is tokenized never exceeds the estimate it stands in for
            // (the body is written with non-ASCII escaped as \uXXXX, so escapes are bounded too).
            var lower = _estimator.LowerBound(body, format, model, price, cap);
            Assert.True(lower.PromptTokens <= estimate.PromptTokens, $"seed {seed}: lower bound {lower.PromptTokens} > estimate {estimate.PromptTokens}");
            Assert.True(lower.Cost <= estimate.Cost, $"seed {seed}: lower bound {lower.Cost} > estimate {estimate.Cost}");
            Assert.Equal(estimate.OutputTokens, lower.OutputTokens);

            // Embedding inputs are tokenized one by one; a chat prompt in one piece.
            var textTokens = generated.SeparateInputs is { } inputs
                ? inputs.Sum(input => (long)tokenizer.CountTokens(input))
                : tokenizer.CountTokens(generated.Rendered.ToString());
            var actualPrompt = (exact ? textTokens : (long)Math.Ceiling(textTokens * _options.ApproximateTokenizerMargin))
                + generated.ImageTokens(faker, _options.ImageTokens);
            var outputLimit = (generated.RequestedOutput ?? cap ?? _options.DefaultOutputCap) * generated.Choices;
            var output = format == PromptFormat.OpenAIEmbeddings ? 0 : faker.Random.Long(0, outputLimit);
            var cached = faker.Random.Long(0, actualPrompt);
            var written = faker.Random.Long(0, actualPrompt - cached);
            var usage = new TokenUsage(actualPrompt - cached - written, cached, written, output, faker.Random.Long(0, output));
            var actualCost = TokenCost.Of(price, usage);

            Assert.True(estimate.PromptTokens >= actualPrompt, $"seed {seed}: prompt estimate {estimate.PromptTokens} < actual {actualPrompt}");
            Assert.True(estimate.Cost >= actualCost, $"seed {seed}: estimate {estimate.Cost} < actual {actualCost}");
            Assert.Equal(outputLimit, estimate.OutputTokens);
        }
    }

    private static string Text(Faker faker) => faker.Random.Int(0, 6) switch
    {
        0 => faker.Lorem.Paragraphs(faker.Random.Int(1, 4)),
        1 => faker.Random.Utf16String(0, 300, excludeSurrogates: true),
        2 => $"```csharp\nvar x = {faker.Random.Int()}; // {faker.Hacker.Phrase()}\nConsole.WriteLine(\"{faker.Internet.Url()}\");\n```",
        3 => string.Join(' ', Enumerable.Range(0, faker.Random.Int(1, 40)).Select(_ => faker.Random.Long().ToString(System.Globalization.CultureInfo.InvariantCulture))),
        4 => string.Concat(Enumerable.Repeat("😀🚀👩‍👩‍👧 ", faker.Random.Int(1, 20))),
        5 => new string(' ', faker.Random.Int(0, 30)) + faker.Lorem.Sentence() + new string('\n', faker.Random.Int(0, 5)),
        _ => faker.Lorem.Word(),
    };

    private static JsonObject Schema(Faker faker)
    {
        var properties = new JsonObject();
        foreach (var name in faker.Lorem.Words(faker.Random.Int(1, 4)).Distinct())
        {
            properties[name] = new JsonObject { ["type"] = "string", ["description"] = Text(faker) };
        }

        return new JsonObject { ["type"] = "object", ["properties"] = properties };
    }

    private static JsonObject Arguments(Faker faker)
    {
        var arguments = new JsonObject();
        foreach (var name in faker.Lorem.Words(faker.Random.Int(0, 3)).Distinct())
        {
            arguments[name] = faker.Random.Bool() ? Text(faker) : faker.Random.Int();
        }

        return arguments;
    }

    private static (long? Requested, string? Field) OutputLimit(Faker faker, params string[] fields)
    {
        var index = faker.Random.Int(0, fields.Length);
        return index == fields.Length ? (null, null) : (faker.Random.Long(1, 8_000), fields[index]);
    }

    private static Generated GenerateChat(Faker faker)
    {
        var rendered = new StringBuilder();
        var images = 0;
        var messages = new JsonArray();
        for (var i = faker.Random.Int(1, 8); i > 0; i--)
        {
            var role = faker.PickRandom("system", "user", "assistant", "tool");
            rendered.Append(role).Append('\n');
            var message = new JsonObject { ["role"] = role };
            if (role == "assistant" && faker.Random.Bool())
            {
                var name = faker.Lorem.Word();
                var arguments = Arguments(faker).ToJsonString(Relaxed);
                message["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = "call_" + faker.Random.AlphaNumeric(8),
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
                });
                rendered.Append(name).Append('\n').Append(arguments);
            }
            else if (role == "user" && faker.Random.Bool())
            {
                var parts = new JsonArray();
                for (var p = faker.Random.Int(1, 4); p > 0; p--)
                {
                    if (faker.Random.Bool(0.3f))
                    {
                        images++;
                        parts.Add(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = faker.Image.PicsumUrl(), ["detail"] = "high" } });
                    }
                    else
                    {
                        var text = Text(faker);
                        parts.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                        rendered.Append(text).Append('\n');
                    }
                }

                message["content"] = parts;
            }
            else
            {
                var text = Text(faker);
                message["content"] = text;
                if (role == "tool")
                {
                    message["tool_call_id"] = "call_" + faker.Random.AlphaNumeric(8);
                }

                rendered.Append(text);
            }

            rendered.Append('\n');
            messages.Add(message);
        }

        var body = new JsonObject { ["model"] = "m", ["messages"] = messages };
        if (faker.Random.Bool())
        {
            var tools = new JsonArray();
            for (var t = faker.Random.Int(1, 3); t > 0; t--)
            {
                var tool = new JsonObject
                {
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = faker.Lorem.Word(), ["description"] = Text(faker), ["parameters"] = Schema(faker) },
                };
                rendered.Append(tool.ToJsonString(Relaxed)).Append('\n');
                tools.Add(tool);
            }

            body["tools"] = tools;
        }

        var (requested, field) = OutputLimit(faker, "max_tokens", "max_completion_tokens");
        if (field is not null)
        {
            body[field] = requested;
        }

        var choices = faker.Random.Bool(0.2f) ? faker.Random.Int(2, 4) : 1;
        if (choices > 1)
        {
            body["n"] = choices;
        }

        return new Generated(body, rendered, images, requested, choices);
    }

    private static Generated GenerateResponses(Faker faker)
    {
        var rendered = new StringBuilder();
        var images = 0;
        var body = new JsonObject { ["model"] = "m" };
        if (faker.Random.Bool())
        {
            var instructions = Text(faker);
            body["instructions"] = instructions;
            rendered.Append("system\n").Append(instructions).Append('\n');
        }

        if (faker.Random.Bool(0.3f))
        {
            var input = Text(faker);
            body["input"] = input;
            rendered.Append("user\n").Append(input).Append('\n');
        }
        else
        {
            var items = new JsonArray();
            for (var i = faker.Random.Int(1, 6); i > 0; i--)
            {
                var role = faker.PickRandom("user", "assistant", "developer");
                rendered.Append(role).Append('\n');
                var parts = new JsonArray();
                for (var p = faker.Random.Int(1, 3); p > 0; p--)
                {
                    if (role == "user" && faker.Random.Bool(0.25f))
                    {
                        images++;
                        parts.Add(new JsonObject { ["type"] = "input_image", ["image_url"] = faker.Image.PicsumUrl() });
                    }
                    else
                    {
                        var text = Text(faker);
                        parts.Add(new JsonObject { ["type"] = role == "assistant" ? "output_text" : "input_text", ["text"] = text });
                        rendered.Append(text).Append('\n');
                    }
                }

                items.Add(new JsonObject { ["role"] = role, ["content"] = parts });
            }

            body["input"] = items;
        }

        if (faker.Random.Bool())
        {
            var tool = new JsonObject { ["type"] = "function", ["name"] = faker.Lorem.Word(), ["description"] = Text(faker), ["parameters"] = Schema(faker) };
            rendered.Append(tool.ToJsonString(Relaxed)).Append('\n');
            body["tools"] = new JsonArray(tool);
        }

        var (requested, field) = OutputLimit(faker, "max_output_tokens");
        if (field is not null)
        {
            body[field] = requested;
        }

        return new Generated(body, rendered, images, requested, 1);
    }

    private static Generated GenerateAnthropic(Faker faker)
    {
        var rendered = new StringBuilder();
        var images = 0;
        var body = new JsonObject { ["model"] = "m" };
        if (faker.Random.Bool())
        {
            var system = Text(faker);
            body["system"] = faker.Random.Bool() ? system : new JsonArray(new JsonObject { ["type"] = "text", ["text"] = system });
            rendered.Append(system).Append('\n');
        }

        var messages = new JsonArray();
        for (var i = faker.Random.Int(1, 8); i > 0; i--)
        {
            var role = i % 2 == 1 ? "user" : "assistant";
            rendered.Append(role).Append('\n');
            if (faker.Random.Bool(0.4f))
            {
                var text = Text(faker);
                messages.Add(new JsonObject { ["role"] = role, ["content"] = text });
                rendered.Append(text).Append('\n');
                continue;
            }

            var blocks = new JsonArray();
            for (var b = faker.Random.Int(1, 3); b > 0; b--)
            {
                switch (faker.Random.Int(0, 3))
                {
                    case 0 when role == "user":
                        images++;
                        blocks.Add(new JsonObject
                        {
                            ["type"] = "image",
                            ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = "image/png", ["data"] = Convert.ToBase64String(faker.Random.Bytes(faker.Random.Int(10, 5000))) },
                        });
                        break;
                    case 1 when role == "assistant":
                        var name = faker.Lorem.Word();
                        var input = Arguments(faker);
                        blocks.Add(new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_" + faker.Random.AlphaNumeric(8), ["name"] = name, ["input"] = input });
                        rendered.Append(name).Append('\n').Append(input.ToJsonString(Relaxed)).Append('\n');
                        break;
                    case 2 when role == "user":
                        var result = Text(faker);
                        blocks.Add(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "toolu_" + faker.Random.AlphaNumeric(8), ["content"] = result });
                        rendered.Append(result).Append('\n');
                        break;
                    default:
                        var text = Text(faker);
                        blocks.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                        rendered.Append(text).Append('\n');
                        break;
                }
            }

            messages.Add(new JsonObject { ["role"] = role, ["content"] = blocks });
        }

        body["messages"] = messages;
        if (faker.Random.Bool())
        {
            var tools = new JsonArray();
            for (var t = faker.Random.Int(1, 3); t > 0; t--)
            {
                var tool = new JsonObject { ["name"] = faker.Lorem.Word(), ["description"] = Text(faker), ["input_schema"] = Schema(faker) };
                rendered.Append(tool.ToJsonString(Relaxed)).Append('\n');
                tools.Add(tool);
            }

            body["tools"] = tools;

            // Anthropic's own tool-use system prompt (346 tokens for Claude 4), as text of that size.
            rendered.Append(string.Concat(Enumerable.Repeat(" tool", 346)));
        }

        var requested = faker.Random.Long(1, 8_000);
        body["max_tokens"] = requested;
        return new Generated(body, rendered, images, requested, 1);
    }

    private static Generated GenerateEmbeddings(Faker faker)
    {
        var rendered = new StringBuilder();
        JsonNode input;
        if (faker.Random.Bool())
        {
            var text = Text(faker);
            input = text;
            rendered.Append(text);
        }
        else
        {
            var array = new JsonArray();
            for (var i = faker.Random.Int(1, 10); i > 0; i--)
            {
                var text = Text(faker);
                array.Add(text);
                rendered.Append(text).Append('\n');
            }

            input = array;
        }

        var inputs = input is JsonArray list ? list.Select(i => (string)i!).ToList() : [(string)input!];
        return new Generated(new JsonObject { ["model"] = "m", ["input"] = input }, rendered, 0, 0, 1) { SeparateInputs = inputs };
    }

    private sealed record Generated(JsonObject Body, StringBuilder Rendered, int Images, long? RequestedOutput, int Choices)
    {
        public IReadOnlyList<string>? SeparateInputs { get; init; }

        public long ImageTokens(Faker faker, int allowance) =>
            Enumerable.Range(0, Images).Sum(_ => faker.Random.Long(0, allowance));
    }
}
