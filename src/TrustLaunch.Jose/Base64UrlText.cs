using System.Buffers.Text;

namespace TrustLaunch.Jose;

/// <summary>Base64url decoding (RFC 4648 §5) for JOSE members; the one place that turns a bad value into a
/// <see cref="FormatException"/> naming the member.</summary>
internal static class Base64UrlText
{
    public static byte[] Decode(string text, string errorMessage)
    {
        try
        {
            return Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            throw new FormatException(errorMessage);
        }
    }

    public static string Encode(ReadOnlySpan<byte> data) => Base64Url.EncodeToString(data);
}
