using System.Text;
using RelayKit.AspNetCore.Forwarding;
using RelayKit.AspNetCore.Translation.Streaming;

namespace RelayKit.AspNetCore.Tests.Translation;

/// <summary>
/// Hands a translator one event given as text, the way the response chain hands it one: a <see cref="ResponseEvent"/>
/// whose data is parsed at most once, on the translator's first ask, and disposed after the call.
/// </summary>
internal static class StreamTranslatorPush
{
    public static void Push(this IStreamTranslator translator, string? eventName, string data, ISseSink output)
    {
        var name = eventName is null ? [] : Encoding.UTF8.GetBytes(eventName);
        var bytes = Encoding.UTF8.GetBytes(data);
        var item = new ResponseEvent(bytes, name, bytes, isEvent: true);
        try
        {
            translator.Push(ref item, output);
        }
        finally
        {
            item.Dispose();
        }
    }
}
