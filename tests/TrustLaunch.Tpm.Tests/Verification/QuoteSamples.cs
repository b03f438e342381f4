using System.Security.Cryptography;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>A quote as a verifier receives it: the AK, the three files of <c>tpm2_quote</c>, and the nonce.</summary>
public sealed record QuoteSample(AsymmetricAlgorithm Key, byte[] Attest, byte[] Signature, byte[] PcrValues, byte[] Nonce)
{
    public QuoteVerificationResult Verify(TpmClockInfo? previous = null, QuoteVerificationOptions? options = null) =>
        QuoteVerifier.Verify(Key, Attest, Signature, PcrValues, Nonce, previous, options);
}

/// <summary>Builds TPMS_ATTEST bytes field by field, so tests can sign exactly what they mean in software.</summary>
public sealed record AttestBuilder
{
    public uint Magic { get; init; } = TpmAttest.Magic;
    public ushort Type { get; init; } = (ushort)TpmSt.AttestQuote;
    public byte[] QualifiedSigner { get; init; } = [0x00, 0x0B, .. new byte[32]];
    public byte[] ExtraData { get; init; } = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    public ulong Clock { get; init; } = 1000;
    public uint ResetCount { get; init; } = 3;
    public uint RestartCount { get; init; } = 2;
    public byte Safe { get; init; } = 1;
    public ulong FirmwareVersion { get; init; } = 0x2019_1023_0016_3636;
    public IReadOnlyList<PcrSelection> Selection { get; init; } = PcrSelection.ParseList("sha256:0,1,15");
    public byte[]? PcrDigest { get; init; }

    /// <summary>PCR values for <see cref="Selection"/>: each PCR n of a bank filled with byte n+1.</summary>
    public byte[] PcrValues()
    {
        var w = new TpmWriter();
        foreach (var s in Selection)
            foreach (var pcr in s.Pcrs)
                w.WriteBytes(Enumerable.Repeat((byte)(pcr + 1), TpmHash.IsHash(s.Bank) ? TpmHash.DigestSize(s.Bank) : 32).ToArray());
        return w.ToArray();
    }

    public byte[] Build(TpmAlgId digestHash = TpmAlgId.Sha256)
    {
        var w = new TpmWriter();
        w.WriteUInt32(Magic).WriteUInt16(Type).WriteSized(QualifiedSigner).WriteSized(ExtraData);
        w.WriteUInt64(Clock).WriteUInt32(ResetCount).WriteUInt32(RestartCount).WriteByte(Safe).WriteUInt64(FirmwareVersion);
        PcrSelection.WriteList(w, Selection);
        w.WriteSized(PcrDigest ?? TpmHash.Hash(digestHash, PcrValues()));
        return w.ToArray();
    }
}

/// <summary>Software stand-ins for the TPM's signing.</summary>
public static class SoftwareSigner
{
    public static byte[] SignEcdsa(ECDsa key, byte[] attest, TpmAlgId hash = TpmAlgId.Sha256)
    {
        var rs = key.SignHash(TpmHash.Hash(hash, attest), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var half = rs.Length / 2;
        return TpmSignature.Ecdsa(hash, rs[..half], rs[half..]).ToBytes();
    }

    public static byte[] SignRsa(RSA key, byte[] attest, TpmAlgId scheme = TpmAlgId.Rsassa, TpmAlgId hash = TpmAlgId.Sha256)
    {
        var padding = scheme == TpmAlgId.Rsapss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
        return TpmSignature.Rsa(scheme, hash, key.SignData(attest, TpmHash.Name(hash), padding)).ToBytes();
    }

    /// <summary>A valid software quote: ECDSA P-256 or RSA-2048 RSASSA, both SHA-256.</summary>
    public static QuoteSample Quote(AsymmetricAlgorithm key, AttestBuilder? builder = null)
    {
        builder ??= new AttestBuilder();
        var attest = builder.Build();
        var signature = key switch
        {
            ECDsa ecdsa => SignEcdsa(ecdsa, attest),
            RSA rsa => SignRsa(rsa, attest),
            _ => throw new ArgumentException("RSA or ECDsa"),
        };
        return new QuoteSample(key, attest, signature, builder.PcrValues(), builder.ExtraData);
    }
}

/// <summary>Offsets of the fields of a quote TPMS_ATTEST with one PCR bank, computed from its own length prefixes.</summary>
public sealed class AttestLayout
{
    public AttestLayout(byte[] attest)
    {
        SignerSize = 6;
        Signer = SignerSize + 2;
        ExtraSize = Signer + ReadU16(attest, SignerSize);
        Extra = ExtraSize + 2;
        Clock = Extra + ReadU16(attest, ExtraSize);
        ResetCount = Clock + 8;
        RestartCount = ResetCount + 4;
        Safe = RestartCount + 4;
        Firmware = Safe + 1;
        Count = Firmware + 8;
        Hash = Count + 4;
        SizeofSelect = Hash + 2;
        Bitmap = SizeofSelect + 1;
        DigestSize = Bitmap + attest[SizeofSelect];
        Digest = DigestSize + 2;
        Length = attest.Length;
    }

    public const int Magic = 0;
    public const int Type = 4;
    public int SignerSize { get; }
    public int Signer { get; }
    public int ExtraSize { get; }
    public int Extra { get; }
    public int Clock { get; }
    public int ResetCount { get; }
    public int RestartCount { get; }
    public int Safe { get; }
    public int Firmware { get; }
    public int Count { get; }
    public int Hash { get; }
    public int SizeofSelect { get; }
    public int Bitmap { get; }
    public int DigestSize { get; }
    public int Digest { get; }
    public int Length { get; }

    private static int ReadU16(byte[] b, int offset) => (b[offset] << 8) | b[offset + 1];
}

public static class Bytes
{
    public static byte[] With(this byte[] source, Action<byte[]> change)
    {
        var copy = (byte[])source.Clone();
        change(copy);
        return copy;
    }

    public static byte[] FlipBit(this byte[] source, int offset, int bit = 0) => source.With(b => b[offset] ^= (byte)(1 << bit));

    public static byte[] SetU16(this byte[] source, int offset, ushort value) =>
        source.With(b => { b[offset] = (byte)(value >> 8); b[offset + 1] = (byte)value; });

    public static byte[] SetU32(this byte[] source, int offset, uint value) =>
        source.With(b => System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(offset), value));
}
