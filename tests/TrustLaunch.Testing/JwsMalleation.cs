using System.Buffers.Text;
using System.Globalization;
using System.Numerics;

namespace TrustLaunch.Testing;

/// <summary>ECDSA's malleability, as an attacker holding a signed JWS uses it.</summary>
public static class JwsMalleation
{
    private static readonly BigInteger P256Order = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>The compact ES256 JWS with its signature's <c>s</c> replaced by <c>n - s</c>: valid for the same payload and key, other bytes.</summary>
    public static string Malleated(string compact)
    {
        var dot = compact.LastIndexOf('.');
        var signature = Base64Url.DecodeFromChars(compact.AsSpan(dot + 1));
        if (signature.Length != 64)
            throw new ArgumentException($"an ES256 signature is 64 bytes, this one {signature.Length}", nameof(compact));
        var s = new BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        var flipped = (P256Order - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        var malleated = signature[..32].Concat(new byte[32 - flipped.Length]).Concat(flipped).ToArray();
        return compact[..(dot + 1)] + Base64Url.EncodeToString(malleated);
    }
}
