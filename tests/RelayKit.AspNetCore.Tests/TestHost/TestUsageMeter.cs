using System.Text;
using System.Text.Json;
using RelayKit.AspNetCore.Admission;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Pricing;
using RelayKit.AspNetCore.Protocols;

namespace RelayKit.AspNetCore.Tests.TestHost;

/// <summary>
/// Fills the Meter section of the request context from the upstream's bytes, the way the relay's usage
/// meter (built on a parallel branch) does, so settlement and usage tests can run before it lands.
/// It buffers the whole body: fine for tests, never for the relay.
/// </summary>
internal sealed class TestUsageMeter(TimeProvider timeProvider) : IRelayAdmission
{
    public ValueTask<RelayError?> AdmitAsync(RelayRequestContext context)
    {
        context.ResponseObservers.Add(new Observer(context, timeProvider));
        return ValueTask.FromResult<RelayError?>(null);
    }

    private sealed class Observer(RelayRequestContext context, TimeProvider timeProvider) : IResponseBodyObserver
    {
        private readonly MemoryStream _body = new();

        public void OnResponseStarted(HttpResponseMessage response)
        {
        }

        public void OnBodyChunk(ReadOnlySpan<byte> chunk)
        {
            context.FirstByteAt ??= timeProvider.GetUtcNow();
            _body.Write(chunk);
        }

        public void OnResponseEnded(bool completed)
        {
            var text = Encoding.UTF8.GetString(_body.ToArray());
            var documents = text.TrimStart().StartsWith('{')
                ? [text]
                : text.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].Trim()).Where(l => l.StartsWith('{')).ToList();
            long? input = null, cached = null, write = null, output = null, reasoning = null;
            var anthropic = context.Operation.Format == WireFormat.Anthropic;
            foreach (var json in documents)
            {
                using var doc = JsonDocument.Parse(json);
                var root = doc.RootElement;
                if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String)
                {
                    context.ResponseModel = model.GetString();
                }

                var usage = root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object ? u
                    : root.TryGetProperty("message", out var m) && m.TryGetProperty("usage", out var mu) ? mu
                    : default;
                if (usage.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                input = Read(usage, anthropic ? "input_tokens" : "prompt_tokens") ?? Read(usage, "input_tokens") ?? input;
                output = Read(usage, anthropic ? "output_tokens" : "completion_tokens") ?? Read(usage, "output_tokens") ?? output;
                cached = Read(usage, "cache_read_input_tokens") ?? ReadNested(usage, "prompt_tokens_details", "cached_tokens") ?? cached;
                write = Read(usage, "cache_creation_input_tokens") ?? write;
                reasoning = ReadNested(usage, "completion_tokens_details", "reasoning_tokens") ?? reasoning;
            }

            if (input is not null || output is not null)
            {
                context.ReportedUsage = anthropic
                    ? TokenUsage.FromAnthropic(input ?? 0, cached ?? 0, write ?? 0, output ?? 0)
                    : TokenUsage.FromOpenAI(input ?? 0, cached ?? 0, output ?? 0, reasoning ?? 0);
            }
        }

        private static long? Read(JsonElement usage, string name) =>
            usage.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;

        private static long? ReadNested(JsonElement usage, string outer, string name) =>
            usage.TryGetProperty(outer, out var inner) && inner.ValueKind == JsonValueKind.Object ? Read(inner, name) : null;
    }
}
