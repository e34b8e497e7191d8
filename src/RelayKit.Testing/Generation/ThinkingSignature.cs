using System.Security.Cryptography;
using System.Text;

namespace RelayKit.Testing.Generation;

/// <summary>
/// The <c>signature</c> of a fake thinking block: opaque base64 like the real one, made from the thinking text so
/// the same thinking always has the same signature and a client that sends the block back sends it unchanged.
/// </summary>
internal static class ThinkingSignature
{
    public static string Of(string thinking)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes("relaykit-fake-thinking:" + thinking));
        var bytes = new byte[digest.Length * 3];
        for (var i = 0; i < 3; i++)
        {
            digest.CopyTo(bytes, i * digest.Length);
            digest = SHA256.HashData(digest);
        }

        return Convert.ToBase64String(bytes);
    }
}
