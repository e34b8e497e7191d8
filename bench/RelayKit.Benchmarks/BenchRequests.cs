using System.Text;

namespace RelayKit.Benchmarks;

/// <summary>Request and response bodies shaped like real traffic, shared by the benchmarks.</summary>
internal static class BenchRequests
{
    public const string Model = "gpt-4o-mini";

    public const string ChatCompletion = """
        {"model":"gpt-4o-mini","max_tokens":256,"temperature":0.2,
         "messages":[{"role":"system","content":"You are a concise assistant for a travel booking site."},
                     {"role":"user","content":"Find me three quiet hotels near the old town of Porto for two nights in May, under 150 euros a night, and say why each one is quiet."}]}
        """;

    public const string StreamingChatCompletion = """
        {"model":"gpt-4o-mini","max_tokens":256,"stream":true,"stream_options":{"include_usage":true},
         "messages":[{"role":"user","content":"Find me three quiet hotels near the old town of Porto."}]}
        """;

    /// <summary>A chat request with a long conversation and a tool, about 4,000 prompt tokens.</summary>
    public static string LongChatCompletion { get; } = BuildLong();

    /// <summary>An OpenAI chat stream of <paramref name="chunks"/> content deltas, a finish chunk, a usage chunk and [DONE].</summary>
    public static byte[] OpenAiStream(int chunks)
    {
        var text = new StringBuilder();
        for (var i = 0; i < chunks; i++)
        {
            text.Append("data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,")
                .Append("\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_06737a9306\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word")
                .Append(i).Append("\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n");
        }

        text.Append("data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
        text.Append("data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\",\"created\":1741570283,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":")
            .Append(chunks).Append(",\"total_tokens\":").Append(31 + chunks).Append(",\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n");
        text.Append("data: [DONE]\n\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string BuildLong()
    {
        var body = new StringBuilder("{\"model\":\"gpt-4o-mini\",\"max_tokens\":1024,\"messages\":[");
        for (var i = 0; i < 40; i++)
        {
            body.Append(i == 0 ? "" : ",")
                .Append("{\"role\":\"").Append(i % 2 == 0 ? "user" : "assistant").Append("\",\"content\":\"")
                .Append("Turn ").Append(i).Append(": the quarterly report shows revenue of 4.2 million euros, up 12 percent, ")
                .Append("with costs flat; explain the drivers, the risks in the supply chain, and what the board should ask about hiring plans in Lisbon and Kraków.")
                .Append("\"}");
        }

        body.Append("],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_report\",\"description\":\"Fetches a report by quarter.\",")
            .Append("\"parameters\":{\"type\":\"object\",\"properties\":{\"quarter\":{\"type\":\"string\"},\"year\":{\"type\":\"integer\"}},\"required\":[\"quarter\",\"year\"]}}}]}");
        return body.ToString();
    }
}
