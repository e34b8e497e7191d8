using System.Text;

namespace RelayKit.Testing.Tests.Cassettes;

/// <summary>Reads server-sent events one at a time, as a client sees them arrive.</summary>
internal sealed class SseReader(Stream stream)
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    public async Task<SseItem?> NextAsync()
    {
        string? name = null;
        var data = new List<string>();
        while (await _reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0 || name is not null)
                {
                    return new SseItem(name, string.Join('\n', data));
                }

                continue;
            }

            if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line["event:".Length..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Add(line["data:".Length..].TrimStart());
            }
        }

        return data.Count > 0 ? new SseItem(name, string.Join('\n', data)) : null;
    }
}
