using System.Formats.Asn1;
using System.Numerics;

namespace TrustLaunch.Hsm;

/// <summary>ECDSA signatures between PKCS#11's (and JWS's) r||s form and DER <c>SEQUENCE { INTEGER r, INTEGER s }</c>.</summary>
public static class EcdsaSignatureFormats
{
    public static byte[] P1363ToDer(ReadOnlySpan<byte> p1363)
    {
        if (p1363.Length == 0 || p1363.Length % 2 != 0)
            throw new FormatException($"an r||s ECDSA signature has an even, non-zero length; got {p1363.Length} bytes");
        var half = p1363.Length / 2;
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(new BigInteger(p1363[..half], isUnsigned: true, isBigEndian: true));
            writer.WriteInteger(new BigInteger(p1363[half..], isUnsigned: true, isBigEndian: true));
        }
        return writer.Encode();
    }

    /// <param name="fieldSize">Bytes per coordinate: 32 for P-256, 48 for P-384.</param>
    public static byte[] DerToP1363(ReadOnlySpan<byte> der, int fieldSize)
    {
        try
        {
            var reader = new AsnReader(der.ToArray(), AsnEncodingRules.DER);
            var seq = reader.ReadSequence();
            var r = seq.ReadInteger();
            var s = seq.ReadInteger();
            seq.ThrowIfNotEmpty();
            reader.ThrowIfNotEmpty();
            var result = new byte[2 * fieldSize];
            Put(r, result.AsSpan(0, fieldSize));
            Put(s, result.AsSpan(fieldSize, fieldSize));
            return result;
        }
        catch (AsnContentException e)
        {
            throw new FormatException($"not a DER ECDSA signature: {e.Message}", e);
        }

        static void Put(BigInteger value, Span<byte> target)
        {
            if (value.Sign < 0)
                throw new FormatException("ECDSA signature component is negative");
            var bytes = value.ToByteArray(isUnsigned: true, isBigEndian: true);
            if (bytes.Length > target.Length)
                throw new FormatException($"ECDSA signature component has {bytes.Length} bytes; the curve allows {target.Length}");
            bytes.CopyTo(target[(target.Length - bytes.Length)..]);
        }
    }
}
