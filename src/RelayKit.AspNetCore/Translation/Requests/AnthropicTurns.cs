using System.Text.Json.Nodes;

namespace RelayKit.AspNetCore.Translation.Requests;

/// <summary>
/// Builds Anthropic's <c>messages</c> array block by block. Consecutive blocks of one role become one
/// turn, so OpenAI's separate <c>tool</c> messages land in the single user turn Anthropic expects
/// right after the assistant's <c>tool_use</c> turn.
/// </summary>
internal sealed class AnthropicTurns
{
    private readonly JsonArray _messages = [];
    private string? _lastRole;
    private JsonArray? _lastContent;

    public void Add(string role, JsonObject block)
    {
        if (_lastRole != role || _lastContent is null)
        {
            _lastContent = [];
            _messages.Add(new JsonObject { ["role"] = role, ["content"] = _lastContent });
            _lastRole = role;
        }

        _lastContent.Add(block);
    }

    public JsonArray ToArray() => _messages;
}
