using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Structures;

/// <summary>
/// TPMT_SIGNATURE. RSASSA and RSAPSS carry <see cref="Signature"/>; ECDSA carries <see cref="R"/> and
/// <see cref="S"/>; HMAC carries the digest in <see cref="Signature"/>.
/// </summary>
public sealed record TpmSignature(TpmAlgId Algorithm, TpmAlgId Hash, byte[] Signature, byte[] R, byte[] S)
{
    public static TpmSignature Rsa(TpmAlgId scheme, TpmAlgId hash, byte[] signature) => new(scheme, hash, signature, [], []);

    public static TpmSignature Ecdsa(TpmAlgId hash, byte[] r, byte[] s) => new(TpmAlgId.Ecdsa, hash, [], r, s);

    public byte[] ToBytes()
    {
        var w = new TpmWriter();
        Write(w);
        return w.ToArray();
    }

    public void Write(TpmWriter w)
    {
        w.WriteUInt16((ushort)Algorithm);
        switch (Algorithm)
        {
            case TpmAlgId.Rsassa or TpmAlgId.Rsapss:
                w.WriteUInt16((ushort)Hash).WriteSized(Signature);
                break;
            case TpmAlgId.Ecdsa:
                w.WriteUInt16((ushort)Hash).WriteSized(R).WriteSized(S);
                break;
            case TpmAlgId.Hmac:
                w.WriteUInt16((ushort)Hash).WriteBytes(Signature);
                break;
            case TpmAlgId.Null:
                break;
            default:
                throw new NotSupportedException($"signature algorithm {Algorithm} is not supported");
        }
    }

    /// <summary>Parses a whole TPMT_SIGNATURE as <c>tpm2_quote -s</c> writes it (tss format).</summary>
    public static TpmSignature Parse(ReadOnlySpan<byte> bytes)
    {
        var r = new TpmReader(bytes, "TPMT_SIGNATURE");
        var result = Read(ref r);
        r.ExpectEnd();
        return result;
    }

    public static TpmSignature Read(ref TpmReader r)
    {
        var alg = (TpmAlgId)r.ReadUInt16("sigAlg");
        if (alg == TpmAlgId.Null)
            return new TpmSignature(alg, TpmAlgId.Null, [], [], []);
        var hash = (TpmAlgId)r.ReadUInt16("hash");
        if (!TpmHash.IsHash(hash))
            r.Throw($"hash 0x{(ushort)hash:X4} is not a supported hash");
        switch (alg)
        {
            case TpmAlgId.Rsassa or TpmAlgId.Rsapss:
                var sig = r.ReadSized("sig", TpmPublic.MaxRsaBytes).ToArray();
                if (sig.Length == 0)
                    r.Throw("sig is empty");
                return Rsa(alg, hash, sig);
            case TpmAlgId.Ecdsa:
                var rr = r.ReadSized("signatureR", TpmPublic.MaxEccCoordinateBytes).ToArray();
                var ss = r.ReadSized("signatureS", TpmPublic.MaxEccCoordinateBytes).ToArray();
                if (rr.Length == 0 || ss.Length == 0)
                    r.Throw("ECDSA r or s is empty");
                return Ecdsa(hash, rr, ss);
            case TpmAlgId.Hmac:
                return new TpmSignature(alg, hash, r.ReadBytes(TpmHash.DigestSize(hash), "hmac").ToArray(), [], []);
            default:
                r.Throw($"sigAlg 0x{(ushort)alg:X4} is not RSASSA, RSAPSS, ECDSA or HMAC");
                return null!;
        }
    }
}
