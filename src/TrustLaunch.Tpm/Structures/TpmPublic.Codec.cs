using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Structures;

public sealed partial record TpmPublic
{
    /// <summary>TPMT_PUBLIC bytes.</summary>
    public void Write(TpmWriter w)
    {
        w.WriteUInt16((ushort)Type).WriteUInt16((ushort)NameAlg).WriteUInt32((uint)Attributes).WriteSized(AuthPolicy);
        switch (Type)
        {
            case TpmAlgId.Rsa:
                var rsa = Rsa ?? throw new InvalidOperationException("an RSA public area needs its RSA parameters");
                WriteSymmetric(w, Symmetric);
                WriteScheme(w, Scheme);
                w.WriteUInt16(rsa.KeyBits).WriteUInt32(rsa.Exponent).WriteSized(rsa.Modulus);
                break;
            case TpmAlgId.Ecc:
                var ecc = Ecc ?? throw new InvalidOperationException("an ECC public area needs its ECC parameters");
                WriteSymmetric(w, Symmetric);
                WriteScheme(w, Scheme);
                w.WriteUInt16((ushort)ecc.Curve);
                WriteScheme(w, ecc.Kdf);
                w.WriteSized(ecc.X).WriteSized(ecc.Y);
                break;
            case TpmAlgId.KeyedHash:
                WriteScheme(w, Scheme);
                w.WriteSized(UniqueDigest ?? []);
                break;
            case TpmAlgId.SymCipher:
                WriteSymmetric(w, Symmetric);
                w.WriteSized(UniqueDigest ?? []);
                break;
            default:
                throw new NotSupportedException($"object type {Type} is not supported");
        }
    }

    /// <summary>TPM2B_PUBLIC bytes: u16 size, then TPMT_PUBLIC.</summary>
    public byte[] ToTpm2bPublic() => new TpmWriter().WriteSized(Write).ToArray();

    /// <summary>Parses TPM2B_PUBLIC bytes (as <c>tpm2_createak -u</c> writes them) with nothing after them.</summary>
    public static TpmPublic ParseTpm2b(ReadOnlySpan<byte> bytes)
    {
        var r = new TpmReader(bytes, "TPM2B_PUBLIC");
        var result = ReadTpm2b(ref r);
        r.ExpectEnd();
        return result;
    }

    public static TpmPublic ReadTpm2b(ref TpmReader outer)
    {
        var body = outer.ReadSized("publicArea", 1024);
        if (body.Length == 0)
            outer.Throw("publicArea is empty");
        var r = new TpmReader(body, outer.Structure);
        var result = Read(ref r);
        r.ExpectEnd();
        return result;
    }

    /// <summary>Reads TPMT_PUBLIC.</summary>
    public static TpmPublic Read(ref TpmReader r)
    {
        var type = (TpmAlgId)r.ReadUInt16("type");
        var nameAlg = (TpmAlgId)r.ReadUInt16("nameAlg");
        if (!TpmHash.IsHash(nameAlg))
            r.Throw($"nameAlg 0x{(ushort)nameAlg:X4} is not a supported hash");
        var attributes = (TpmaObject)r.ReadUInt32("objectAttributes");
        var authPolicy = r.ReadSized("authPolicy", TpmHash.MaxDigestSize).ToArray();
        switch (type)
        {
            case TpmAlgId.Rsa:
                {
                    var symmetric = ReadSymmetric(ref r);
                    var scheme = ReadScheme(ref r, "scheme");
                    var keyBits = r.ReadUInt16("keyBits");
                    var exponent = r.ReadUInt32("exponent");
                    var modulus = r.ReadSized("unique.rsa", MaxRsaBytes).ToArray();
                    if (modulus.Length != 0 && modulus.Length * 8 != keyBits)
                        r.Throw($"unique.rsa is {modulus.Length * 8} bits, keyBits says {keyBits}");
                    return new TpmPublic(type, nameAlg, attributes, authPolicy, symmetric, scheme,
                        Rsa: new TpmRsaKey(keyBits, exponent, modulus));
                }
            case TpmAlgId.Ecc:
                {
                    var symmetric = ReadSymmetric(ref r);
                    var scheme = ReadScheme(ref r, "scheme");
                    var curve = (TpmEccCurve)r.ReadUInt16("curveID");
                    var kdf = ReadScheme(ref r, "kdf");
                    var x = r.ReadSized("unique.x", MaxEccCoordinateBytes).ToArray();
                    var y = r.ReadSized("unique.y", MaxEccCoordinateBytes).ToArray();
                    return new TpmPublic(type, nameAlg, attributes, authPolicy, symmetric, scheme,
                        Ecc: new TpmEccKey(curve, kdf, x, y));
                }
            case TpmAlgId.KeyedHash:
                {
                    var scheme = ReadScheme(ref r, "scheme");
                    var unique = r.ReadSized("unique.keyedHash", TpmHash.MaxDigestSize).ToArray();
                    return new TpmPublic(type, nameAlg, attributes, authPolicy, TpmSymmetric.None, scheme, UniqueDigest: unique);
                }
            case TpmAlgId.SymCipher:
                {
                    var symmetric = ReadSymmetric(ref r);
                    var unique = r.ReadSized("unique.sym", TpmHash.MaxDigestSize).ToArray();
                    return new TpmPublic(type, nameAlg, attributes, authPolicy, symmetric, TpmScheme.None, UniqueDigest: unique);
                }
            default:
                r.Throw($"type 0x{(ushort)type:X4} is not RSA, ECC, keyed-hash or symmetric");
                return null!;
        }
    }

    private static void WriteSymmetric(TpmWriter w, TpmSymmetric s)
    {
        w.WriteUInt16((ushort)s.Algorithm);
        if (s.Algorithm != TpmAlgId.Null)
            w.WriteUInt16(s.KeyBits).WriteUInt16((ushort)s.Mode);
    }

    private static TpmSymmetric ReadSymmetric(ref TpmReader r)
    {
        var alg = (TpmAlgId)r.ReadUInt16("symmetric.algorithm");
        if (alg == TpmAlgId.Null)
            return TpmSymmetric.None;
        if (alg == TpmAlgId.Xor)
            return new TpmSymmetric(alg, 0, (TpmAlgId)r.ReadUInt16("symmetric.hash"));
        return new TpmSymmetric(alg, r.ReadUInt16("symmetric.keyBits"), (TpmAlgId)r.ReadUInt16("symmetric.mode"));
    }

    // Every scheme TrustLaunch meets carries exactly one hash after a non-null algorithm id; ECDAA and XOR carry a
    // second field TrustLaunch never uses, so they are refused rather than mis-parsed.
    private static void WriteScheme(TpmWriter w, TpmScheme s)
    {
        w.WriteUInt16((ushort)s.Algorithm);
        if (s.Algorithm != TpmAlgId.Null)
            w.WriteUInt16((ushort)s.Hash);
    }

    private static TpmScheme ReadScheme(ref TpmReader r, string field)
    {
        var alg = (TpmAlgId)r.ReadUInt16(field + ".scheme");
        if (alg == TpmAlgId.Null)
            return TpmScheme.None;
        if (alg is TpmAlgId.Ecdaa or TpmAlgId.Xor)
            r.Throw($"{field}: {alg} schemes are not supported");
        return new TpmScheme(alg, (TpmAlgId)r.ReadUInt16(field + ".hashAlg"));
    }
}
