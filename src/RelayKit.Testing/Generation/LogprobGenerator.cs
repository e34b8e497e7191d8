using System.Text;
using System.Text.Json.Nodes;
using Bogus;
using RelayKit.Testing.Tokens;

namespace RelayKit.Testing.Generation;

/// <summary>
/// Makes OpenAI's per-token log probabilities for a text: one entry per token (<c>token</c>, <c>logprob</c>,
/// <c>bytes</c>, <c>top_logprobs</c>), where the alternatives include the chosen token and all the
/// probabilities of one position add up to at most 1, as a real distribution's do. Seeded, so the same
/// answer has the same numbers run after run.
/// </summary>
internal static class LogprobGenerator
{
    public static JsonArray For(string text, int topLogprobs, int seed)
    {
        var faker = new Faker { Random = new Randomizer(seed) };
        var entries = new JsonArray();
        foreach (var token in TokenCounter.SplitIntoTokens(text))
        {
            // Models are mostly sure of their next token: probabilities near 1, now and then lower.
            var chosen = Math.Round(Math.Log(faker.Random.Double(0.35, 1.0)), 6);
            var top = new List<(string Token, double Logprob)>();
            if (topLogprobs > 0)
            {
                top.Add((token, chosen));
                var rest = 1 - Math.Exp(chosen);
                var prefix = token.StartsWith(' ') ? " " : "";
                while (top.Count < topLogprobs)
                {
                    // Each alternative takes a share of the probability still left, so one position's total stays below 1.
                    var share = rest * faker.Random.Double(0.2, 0.6);
                    rest -= share;
                    var alternative = prefix + faker.Lorem.Word();
                    if (top.Any(t => t.Token == alternative))
                    {
                        alternative += top.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    }

                    top.Add((alternative, Math.Round(Math.Log(Math.Max(share, 1e-12)), 6)));
                }
            }

            entries.Add(new JsonObject
            {
                ["token"] = token,
                ["logprob"] = chosen,
                ["bytes"] = Bytes(token),
                ["top_logprobs"] = new JsonArray([.. top.OrderByDescending(t => t.Logprob).Select(t => (JsonNode)new JsonObject
                {
                    ["token"] = t.Token,
                    ["logprob"] = t.Logprob,
                    ["bytes"] = Bytes(t.Token),
                })]),
            });
        }

        return entries;
    }

    private static JsonArray Bytes(string token) => new([.. Encoding.UTF8.GetBytes(token).Select(b => (JsonNode)(int)b)]);
}
