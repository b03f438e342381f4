using System.Security.Cryptography;
using System.Text;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Net.Pkcs11Interop.HighLevelAPI.MechanismParams;

namespace TrustLaunch.Hsm;

/// <summary>
/// A session on one token. Not for concurrent use (PKCS#11 sessions are single-threaded); open one per thread, or use
/// <see cref="HsmPayloadSigner"/>, which pools them. Every failing call surfaces as <see cref="HsmException"/>.
/// </summary>
public sealed class HsmSession : IDisposable
{
    private readonly ISession _session;
    private bool _disposed;

    internal HsmSession(HsmModule module, string tokenLabel, ISession session)
    {
        Module = module;
        TokenLabel = tokenLabel;
        _session = session;
    }

    public HsmModule Module { get; }

    /// <summary>The Pkcs11Interop session, for the benchmark's bare baseline loop.</summary>
    internal ISession Raw => _session;
    public string TokenLabel { get; }

    private IObjectAttribute Attr(CKA type, bool value) => _session.Factories.ObjectAttributeFactory.Create(type, value);
    private IObjectAttribute Attr(CKA type, byte[] value) => _session.Factories.ObjectAttributeFactory.Create(type, value);
    private IObjectAttribute Attr(CKA type, string value) => _session.Factories.ObjectAttributeFactory.Create(type, value);
    private IObjectAttribute Attr(CKA type, ulong value) => _session.Factories.ObjectAttributeFactory.Create(type, value);
    private IObjectAttribute Attr(CKA type, CKO value) => _session.Factories.ObjectAttributeFactory.Create(type, value);
    private IObjectAttribute Attr(CKA type, CKK value) => _session.Factories.ObjectAttributeFactory.Create(type, value);
    private IMechanism Mech(CKM type) => _session.Factories.MechanismFactory.Create(type);
    private IMechanism Mech(CKM type, IMechanismParams p) => _session.Factories.MechanismFactory.Create(type, p);
    private IObjectHandle H(HsmKey key) => _session.Factories.ObjectHandleFactory.Create(key.Handle);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    // ---- keys -------------------------------------------------------------------------------------------------

    /// <summary>Generates a key (pair) on the token. Private and secret keys are sensitive and non-extractable unless
    /// <see cref="HsmKeyOptions"/> says otherwise. Returns the private (or secret) key.</summary>
    public HsmKey GenerateKey(HsmKeySpec spec, HsmKeyOptions options)
    {
        ThrowIfDisposed();
        var id = options.Id ?? RandomNumberGenerator.GetBytes(8);
        if (FindObjects(options.Label, null, null).Count > 0)
            throw new HsmException("C_FindObjects", "label in use", $"token '{TokenLabel}' already holds an object labelled '{options.Label}'; delete it first or pick another label");
        if (spec.Kind == HsmKeyKind.Aes)
        {
            var template = new List<IObjectAttribute>
            {
                Attr(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), Attr(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
                Attr(CKA.CKA_TOKEN, true), Attr(CKA.CKA_PRIVATE, true), Attr(CKA.CKA_LABEL, options.Label), Attr(CKA.CKA_ID, id),
                Attr(CKA.CKA_VALUE_LEN, (ulong)(spec.Bits / 8)),
                Attr(CKA.CKA_ENCRYPT, true), Attr(CKA.CKA_DECRYPT, true), Attr(CKA.CKA_WRAP, true), Attr(CKA.CKA_UNWRAP, true),
                Attr(CKA.CKA_SENSITIVE, options.Sensitive), Attr(CKA.CKA_EXTRACTABLE, options.Extractable),
            };
            var handle = Pkcs11Call.Run(() => _session.GenerateKey(Mech(CKM.CKM_AES_KEY_GEN), template));
            return new HsmKey(handle.ObjectId, HsmObjectType.SecretKey, HsmKeyKind.Aes, options.Label, id, spec.Bits);
        }
        var pub = new List<IObjectAttribute>
        {
            Attr(CKA.CKA_TOKEN, true), Attr(CKA.CKA_PRIVATE, false), Attr(CKA.CKA_LABEL, options.Label), Attr(CKA.CKA_ID, id),
            Attr(CKA.CKA_VERIFY, true),
        };
        var priv = new List<IObjectAttribute>
        {
            Attr(CKA.CKA_TOKEN, true), Attr(CKA.CKA_PRIVATE, true), Attr(CKA.CKA_LABEL, options.Label), Attr(CKA.CKA_ID, id),
            Attr(CKA.CKA_SIGN, true), Attr(CKA.CKA_SENSITIVE, options.Sensitive), Attr(CKA.CKA_EXTRACTABLE, options.Extractable),
        };
        CKM mechanism;
        if (spec.Kind == HsmKeyKind.Rsa)
        {
            mechanism = CKM.CKM_RSA_PKCS_KEY_PAIR_GEN;
            pub.Add(Attr(CKA.CKA_MODULUS_BITS, (ulong)spec.Bits));
            pub.Add(Attr(CKA.CKA_PUBLIC_EXPONENT, new byte[] { 0x01, 0x00, 0x01 }));
            pub.Add(Attr(CKA.CKA_ENCRYPT, true));
            pub.Add(Attr(CKA.CKA_WRAP, true));
            priv.Add(Attr(CKA.CKA_DECRYPT, true));
            priv.Add(Attr(CKA.CKA_UNWRAP, true));
        }
        else
        {
            mechanism = CKM.CKM_EC_KEY_PAIR_GEN;
            pub.Add(Attr(CKA.CKA_EC_PARAMS, HsmKeySpec.CurveParams(spec.Bits)));
        }
        IObjectHandle? pubHandle = null, privHandle = null;
        Pkcs11Call.Run(() => _session.GenerateKeyPair(Mech(mechanism), pub, priv, out pubHandle, out privHandle));
        return new HsmKey(privHandle!.ObjectId, HsmObjectType.Private, spec.Kind, options.Label, id, spec.Bits);
    }

    /// <summary>The one key the URI names; a URI for another token, none or several matches are errors.</summary>
    public HsmKey FindKey(Pkcs11Uri uri, HsmObjectType? defaultType = null)
    {
        ThrowIfDisposed();
        if (uri.Token is { } t && t != TokenLabel)
            throw new HsmException("C_FindObjects", "wrong token", $"{uri} names token '{t}', but the session is on '{TokenLabel}'");
        if (uri.Object is null && uri.Id is null)
            throw new FormatException($"PKCS#11 URI '{uri}' names no key: give object= or id=");
        var type = uri.Type ?? defaultType;
        var found = FindObjects(uri.Object, uri.Id, type);
        var keys = found.Where(h => ClassOf(h) is HsmObjectType.Public or HsmObjectType.Private or HsmObjectType.SecretKey).ToList();
        return keys.Count switch
        {
            0 => throw new HsmException("C_FindObjects", "key not found", $"no {(type is { } k ? Pkcs11Uri.TypeName(k) + " " : "")}key matches {uri} on token '{TokenLabel}' (logged in? private keys are only visible after login)"),
            1 => Describe(keys[0]),
            _ => throw new HsmException("C_FindObjects", "key ambiguous", $"{keys.Count} keys match {uri} on token '{TokenLabel}'; add type= or id="),
        };
    }

    public HsmKey FindKey(string uriOrLabel, HsmObjectType? defaultType = null) =>
        FindKey(Pkcs11Uri.LooksLikeUri(uriOrLabel) ? Pkcs11Uri.Parse(uriOrLabel) : new Pkcs11Uri { Object = uriOrLabel }, defaultType);

    private List<IObjectHandle> FindObjects(string? label, byte[]? id, HsmObjectType? type)
    {
        var template = new List<IObjectAttribute>();
        if (label is not null) template.Add(Attr(CKA.CKA_LABEL, label));
        if (id is not null) template.Add(Attr(CKA.CKA_ID, id));
        if (type is { } t) template.Add(Attr(CKA.CKA_CLASS, ClassFor(t)));
        return Pkcs11Call.Run(() => _session.FindAllObjects(template));
    }

    private static CKO ClassFor(HsmObjectType type) => type switch
    {
        HsmObjectType.Public => CKO.CKO_PUBLIC_KEY,
        HsmObjectType.Private => CKO.CKO_PRIVATE_KEY,
        HsmObjectType.SecretKey => CKO.CKO_SECRET_KEY,
        HsmObjectType.Cert => CKO.CKO_CERTIFICATE,
        _ => CKO.CKO_DATA,
    };

    private HsmObjectType ClassOf(IObjectHandle h) =>
        (CKO)Pkcs11Call.Run(() => _session.GetAttributeValue(h, [CKA.CKA_CLASS]))[0].GetValueAsUlong() switch
        {
            CKO.CKO_PUBLIC_KEY => HsmObjectType.Public,
            CKO.CKO_PRIVATE_KEY => HsmObjectType.Private,
            CKO.CKO_SECRET_KEY => HsmObjectType.SecretKey,
            CKO.CKO_CERTIFICATE => HsmObjectType.Cert,
            _ => HsmObjectType.Data,
        };

    private HsmKey Describe(IObjectHandle h)
    {
        var type = ClassOf(h);
        var a = Pkcs11Call.Run(() => _session.GetAttributeValue(h, [CKA.CKA_KEY_TYPE, CKA.CKA_LABEL, CKA.CKA_ID]));
        var keyType = (CKK)a[0].GetValueAsUlong();
        var label = a[1].CannotBeRead ? "" : a[1].GetValueAsString() ?? "";
        var id = a[2].CannotBeRead ? [] : a[2].GetValueAsByteArray() ?? [];
        var (kind, bits) = keyType switch
        {
            CKK.CKK_RSA => (HsmKeyKind.Rsa, RsaBits(h)),
            CKK.CKK_EC => (HsmKeyKind.Ec, EcBits(h)),
            CKK.CKK_AES => (HsmKeyKind.Aes, (int)Pkcs11Call.Run(() => _session.GetAttributeValue(h, [CKA.CKA_VALUE_LEN]))[0].GetValueAsUlong() * 8),
            _ => throw new HsmException("C_GetAttributeValue", "unsupported key type", $"key '{label}' has type {keyType}; TrustLaunch handles RSA, EC and AES"),
        };
        return new HsmKey(h.ObjectId, type, kind, label, id, bits);
    }

    private int RsaBits(IObjectHandle h)
    {
        var modulus = Pkcs11Call.Run(() => _session.GetAttributeValue(h, [CKA.CKA_MODULUS]))[0];
        return modulus.CannotBeRead ? 0 : (modulus.GetValueAsByteArray()?.SkipWhile(b => b == 0).Count() ?? 0) * 8;
    }

    private int EcBits(IObjectHandle h)
    {
        var p = Pkcs11Call.Run(() => _session.GetAttributeValue(h, [CKA.CKA_EC_PARAMS]))[0].GetValueAsByteArray() ?? [];
        if (p.AsSpan().SequenceEqual(HsmKeySpec.CurveParams(256))) return 256;
        if (p.AsSpan().SequenceEqual(HsmKeySpec.CurveParams(384))) return 384;
        throw new HsmException("C_GetAttributeValue", "unsupported curve", $"EC parameters {Convert.ToHexStringLower(p)} are neither P-256 nor P-384");
    }

    /// <summary>Every key on the token (private ones only after login).</summary>
    public IReadOnlyList<HsmObjectInfo> ListKeys()
    {
        ThrowIfDisposed();
        var result = new List<HsmObjectInfo>();
        foreach (var h in FindObjects(null, null, null))
        {
            var type = ClassOf(h);
            if (type is not (HsmObjectType.Public or HsmObjectType.Private or HsmObjectType.SecretKey))
            {
                var la = Pkcs11Call.Run(() => _session.GetAttributeValue(h, [CKA.CKA_LABEL]))[0];
                var label0 = la.CannotBeRead ? "" : la.GetValueAsString() ?? "";
                result.Add(new HsmObjectInfo(new Pkcs11Uri { Token = TokenLabel, Object = label0, Type = type }.ToString(), label0, "", Pkcs11Uri.TypeName(type), "", null, null, null, []));
                continue;
            }
            var key = Describe(h);
            var flags = Pkcs11Call.Run(() => _session.GetAttributeValue(h,
                [CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_SIGN, CKA.CKA_VERIFY, CKA.CKA_ENCRYPT, CKA.CKA_DECRYPT, CKA.CKA_WRAP, CKA.CKA_UNWRAP]));
            bool? Flag(int i) => flags[i].CannotBeRead ? null : flags[i].GetValueAsBool();
            var usage = new List<string>();
            string[] names = ["", "", "sign", "verify", "encrypt", "decrypt", "wrap", "unwrap"];
            for (var i = 2; i < names.Length; i++)
                if (Flag(i) == true) usage.Add(names[i]);
            var isPublic = type == HsmObjectType.Public;
            result.Add(new HsmObjectInfo(
                new Pkcs11Uri { Token = TokenLabel, Object = key.Label, Type = type }.ToString(),
                key.Label, Convert.ToHexStringLower(key.Id), Pkcs11Uri.TypeName(type), key.Kind.ToString().ToLowerInvariant(), key.Bits,
                isPublic ? null : Flag(0), isPublic ? null : Flag(1), usage));
        }
        return result.OrderBy(r => r.Label, StringComparer.Ordinal).ThenBy(r => r.Class, StringComparer.Ordinal).ToList();
    }

    /// <summary>Destroys every key object the URI matches (a key pair: both halves unless type= narrows it); returns
    /// how many.</summary>
    public int Delete(Pkcs11Uri uri)
    {
        ThrowIfDisposed();
        if (uri.Object is null && uri.Id is null)
            throw new FormatException($"PKCS#11 URI '{uri}' names no key: give object= or id=");
        var found = FindObjects(uri.Object, uri.Id, uri.Type);
        if (found.Count == 0)
            throw new HsmException("C_FindObjects", "key not found", $"nothing matches {uri} on token '{TokenLabel}'");
        foreach (var h in found)
            Pkcs11Call.Run(() => _session.DestroyObject(h));
        return found.Count;
    }

    // ---- public keys ---------------------------------------------------------------------------------------------

    /// <summary>The public half of a key: read from the public object with the same id (or label), or for RSA from
    /// the private object's modulus and exponent. Returns an <see cref="RSA"/> or <see cref="ECDsa"/>.</summary>
    public AsymmetricAlgorithm GetPublicKey(HsmKey key)
    {
        ThrowIfDisposed();
        if (key.Kind == HsmKeyKind.Aes)
            throw new HsmException("C_GetAttributeValue", "CKR_KEY_TYPE_INCONSISTENT", $"{key.Describe()} is a secret key; it has no public key");
        var handle = H(key);
        if (key.Type == HsmObjectType.Private)
        {
            var pubs = FindObjects(null, key.Id, HsmObjectType.Public);
            if (pubs.Count == 0 && key.Label.Length > 0)
                pubs = FindObjects(key.Label, null, HsmObjectType.Public);
            if (pubs.Count > 0)
                handle = pubs[0];
            else if (key.Kind == HsmKeyKind.Ec)
                throw new HsmException("C_FindObjects", "public key not found", $"{key.Describe()} has no public key object on the token (an EC private key does not carry its point)");
        }
        if (key.Kind == HsmKeyKind.Rsa)
        {
            var a = Pkcs11Call.Run(() => _session.GetAttributeValue(handle, [CKA.CKA_MODULUS, CKA.CKA_PUBLIC_EXPONENT]));
            return RSA.Create(new RSAParameters { Modulus = a[0].GetValueAsByteArray(), Exponent = a[1].GetValueAsByteArray() });
        }
        var e = Pkcs11Call.Run(() => _session.GetAttributeValue(handle, [CKA.CKA_EC_POINT]))[0].GetValueAsByteArray() ?? [];
        var point = UnwrapOctetString(e);
        var size = key.FieldSize;
        if (point.Length != 1 + 2 * size || point[0] != 0x04)
            throw new HsmException("C_GetAttributeValue", "bad EC point", $"CKA_EC_POINT of {key.Describe()} is not an uncompressed point");
        return ECDsa.Create(new ECParameters
        {
            Curve = key.Bits == 256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384,
            Q = new ECPoint { X = point[1..(1 + size)], Y = point[(1 + size)..] },
        });
    }

    private static byte[] UnwrapOctetString(byte[] value)
    {
        // SoftHSM (and the standard) give DER OCTET STRING { 04 || X || Y }; some modules give the raw point.
        if (value.Length > 2 && value[0] == 0x04 && value[1] != 0x04 || value.Length > 2 && value[0] == 0x04 && value[1] == value.Length - 2)
        {
            var reader = new System.Formats.Asn1.AsnReader(value, System.Formats.Asn1.AsnEncodingRules.BER);
            try
            {
                return reader.ReadOctetString();
            }
            catch (System.Formats.Asn1.AsnContentException)
            {
                return value;
            }
        }
        return value;
    }

    /// <summary>Refuses unless the private key is extractable and not sensitive: TrustLaunch keys never leave the
    /// HSM in clear, so this exists to say so clearly.</summary>
    public void EnsurePrivateExportable(HsmKey key)
    {
        var a = Pkcs11Call.Run(() => _session.GetAttributeValue(H(key), [CKA.CKA_EXTRACTABLE, CKA.CKA_SENSITIVE]));
        var extractable = !a[0].CannotBeRead && a[0].GetValueAsBool();
        var sensitive = a[1].CannotBeRead || a[1].GetValueAsBool();
        if (!extractable)
            throw new HsmException("C_GetAttributeValue", "CKR_KEY_UNEXTRACTABLE", $"{key.Describe()} is non-extractable (CKA_EXTRACTABLE false): it cannot leave the HSM; export its public key instead");
        if (sensitive)
            throw new HsmException("C_GetAttributeValue", "CKR_ATTRIBUTE_SENSITIVE", $"{key.Describe()} is sensitive (CKA_SENSITIVE true): it can leave the HSM only wrapped (hsm wrap); export its public key instead");
    }

    // ---- sign / verify -------------------------------------------------------------------------------------------

    /// <summary>Signs <paramref name="data"/> with a JWS algorithm (RS256/384/512, PS256/384/512, ES256/384). ECDSA
    /// signatures are r||s (P1363): SoftHSM 2.6 has no CKM_ECDSA_SHA256, so the data is hashed here and signed with
    /// CKM_ECDSA.</summary>
    public byte[] Sign(HsmKey key, string algorithm, ReadOnlySpan<byte> data)
    {
        ThrowIfDisposed();
        var (mechanism, input) = SignMechanism(key, algorithm, data, "C_SignInit", HsmObjectType.Private);
        return Pkcs11Call.Run(() => _session.Sign(mechanism, H(key), input));
    }

    /// <summary>True when the signature verifies in the HSM; ECDSA signatures may be r||s or DER.</summary>
    public bool Verify(HsmKey key, string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ThrowIfDisposed();
        var (mechanism, input) = SignMechanism(key, algorithm, data, "C_VerifyInit", HsmObjectType.Public);
        var sig = signature.ToArray();
        if (key.Kind == HsmKeyKind.Ec && sig.Length > 0 && sig[0] == 0x30 && sig.Length != 2 * key.FieldSize)
            sig = EcdsaSignatureFormats.DerToP1363(sig, key.FieldSize);
        try
        {
            var valid = false;
            Pkcs11Call.Run(() => _session.Verify(mechanism, H(key), input, sig, out valid));
            return valid;
        }
        catch (HsmException e) when (e.Code is "CKR_SIGNATURE_INVALID" or "CKR_SIGNATURE_LEN_RANGE")
        {
            return false;
        }
    }

    private (IMechanism Mechanism, byte[] Input) SignMechanism(HsmKey key, string algorithm, ReadOnlySpan<byte> data, string function, HsmObjectType expect)
    {
        if (key.Type != expect)
            throw new HsmException(function, "CKR_KEY_TYPE_INCONSISTENT", $"{key.Describe()} cannot {(expect == HsmObjectType.Private ? "sign" : "verify")}; use its {Pkcs11Uri.TypeName(expect)} key (type={Pkcs11Uri.TypeName(expect)})");
        var (kind, hash) = algorithm switch
        {
            "RS256" or "PS256" or "ES256" => (algorithm[0], HashAlgorithmName.SHA256),
            "RS384" or "PS384" or "ES384" => (algorithm[0], HashAlgorithmName.SHA384),
            "RS512" or "PS512" => (algorithm[0], HashAlgorithmName.SHA512),
            _ => throw new FormatException($"signature algorithm '{algorithm}' is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384"),
        };
        var needs = kind == 'E' ? HsmKeyKind.Ec : HsmKeyKind.Rsa;
        if (key.Kind != needs || kind == 'E' && (algorithm == "ES256" ? 256 : 384) != key.Bits)
            throw new HsmException(function, "CKR_KEY_TYPE_INCONSISTENT",
                $"{key.Describe()} cannot make {algorithm} signatures; {algorithm} needs {(kind == 'E' ? $"an EC P-{algorithm[2..]} key" : "an RSA key")}");
        if (kind == 'E')
            return (Mech(CKM.CKM_ECDSA), CryptographicOperations.HashData(hash, data));
        if (kind == 'R')
        {
            var m = hash == HashAlgorithmName.SHA256 ? CKM.CKM_SHA256_RSA_PKCS : hash == HashAlgorithmName.SHA384 ? CKM.CKM_SHA384_RSA_PKCS : CKM.CKM_SHA512_RSA_PKCS;
            return (Mech(m), data.ToArray());
        }
        var (pss, h, mgf, len) = hash == HashAlgorithmName.SHA256 ? (CKM.CKM_SHA256_RSA_PKCS_PSS, CKM.CKM_SHA256, CKG.CKG_MGF1_SHA256, 32UL)
            : hash == HashAlgorithmName.SHA384 ? (CKM.CKM_SHA384_RSA_PKCS_PSS, CKM.CKM_SHA384, CKG.CKG_MGF1_SHA384, 48UL)
            : (CKM.CKM_SHA512_RSA_PKCS_PSS, CKM.CKM_SHA512, CKG.CKG_MGF1_SHA512, 64UL);
        var p = _session.Factories.MechanismParamsFactory.CreateCkRsaPkcsPssParams((ulong)h, (ulong)mgf, len);
        return (Mech(pss, p), data.ToArray());
    }

    // ---- encrypt / decrypt ---------------------------------------------------------------------------------------

    /// <summary>RSA-OAEP (SHA-1 MGF/hash: what SoftHSM 2.6 implements) with a public key, or AES-GCM with a secret
    /// key; the AES-GCM output is iv(12) || ciphertext || tag(16).</summary>
    public byte[] Encrypt(HsmKey key, ReadOnlySpan<byte> plaintext)
    {
        ThrowIfDisposed();
        var data = plaintext.ToArray();
        if (key.Kind == HsmKeyKind.Aes)
        {
            var iv = RandomNumberGenerator.GetBytes(12);
            var ct = Pkcs11Call.Run(() => _session.Encrypt(Gcm(iv), H(key), data));
            return [.. iv, .. ct];
        }
        RequireRsa(key, HsmObjectType.Public, "C_EncryptInit", "encrypt");
        return Pkcs11Call.Run(() => _session.Encrypt(Oaep(), H(key), data));
    }

    public byte[] Decrypt(HsmKey key, ReadOnlySpan<byte> ciphertext)
    {
        ThrowIfDisposed();
        if (key.Kind == HsmKeyKind.Aes)
        {
            if (ciphertext.Length < 12 + 16)
                throw new FormatException($"AES-GCM input is {ciphertext.Length} bytes; it needs at least iv(12) + tag(16)");
            var iv = ciphertext[..12].ToArray();
            var body = ciphertext[12..].ToArray();
            return Pkcs11Call.Run(() => _session.Decrypt(Gcm(iv), H(key), body));
        }
        RequireRsa(key, HsmObjectType.Private, "C_DecryptInit", "decrypt");
        var input = ciphertext.ToArray();
        return Pkcs11Call.Run(() => _session.Decrypt(Oaep(), H(key), input));
    }

    private IMechanism Gcm(byte[] iv) =>
        Mech(CKM.CKM_AES_GCM, _session.Factories.MechanismParamsFactory.CreateCkGcmParams(iv, 96, [], 128));

    private IMechanism Oaep() =>
        Mech(CKM.CKM_RSA_PKCS_OAEP, _session.Factories.MechanismParamsFactory.CreateCkRsaPkcsOaepParams(
            (ulong)CKM.CKM_SHA_1, (ulong)CKG.CKG_MGF1_SHA1, (ulong)CKZ.CKZ_DATA_SPECIFIED, null));

    private static void RequireRsa(HsmKey key, HsmObjectType type, string function, string verb)
    {
        if (key.Kind != HsmKeyKind.Rsa || key.Type != type)
            throw new HsmException(function, "CKR_KEY_TYPE_INCONSISTENT", $"{key.Describe()} cannot {verb}; use an AES key or an RSA {Pkcs11Uri.TypeName(type)} key");
    }

    // ---- wrap / unwrap -------------------------------------------------------------------------------------------

    /// <summary>Wraps an extractable key: with an AES key by AES key wrap (RFC 5649, CKM_AES_KEY_WRAP_PAD), with an
    /// RSA public key by RSA-OAEP.</summary>
    public byte[] Wrap(HsmKey wrappingKey, HsmKey key)
    {
        ThrowIfDisposed();
        var mechanism = wrappingKey.Kind switch
        {
            HsmKeyKind.Aes => Mech(CKM.CKM_AES_KEY_WRAP_PAD),
            HsmKeyKind.Rsa when wrappingKey.Type == HsmObjectType.Public => Oaep(),
            _ => throw new HsmException("C_WrapKey", "CKR_WRAPPING_KEY_TYPE_INCONSISTENT", $"{wrappingKey.Describe()} cannot wrap; use an AES key or an RSA public key"),
        };
        return Pkcs11Call.Run(() => _session.WrapKey(mechanism, H(wrappingKey), H(key)));
    }

    /// <summary>Unwraps into a new token key (AES secret key, or with an AES wrapping key also an RSA/EC private key),
    /// sensitive and non-extractable unless <paramref name="options"/> says otherwise.</summary>
    public HsmKey Unwrap(HsmKey unwrappingKey, ReadOnlySpan<byte> wrapped, HsmKeySpec spec, HsmKeyOptions options)
    {
        ThrowIfDisposed();
        var mechanism = unwrappingKey.Kind switch
        {
            HsmKeyKind.Aes => Mech(CKM.CKM_AES_KEY_WRAP_PAD),
            HsmKeyKind.Rsa when unwrappingKey.Type == HsmObjectType.Private => Oaep(),
            _ => throw new HsmException("C_UnwrapKey", "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT", $"{unwrappingKey.Describe()} cannot unwrap; use an AES key or an RSA private key"),
        };
        var id = options.Id ?? RandomNumberGenerator.GetBytes(8);
        var template = new List<IObjectAttribute>
        {
            Attr(CKA.CKA_TOKEN, true), Attr(CKA.CKA_PRIVATE, true), Attr(CKA.CKA_LABEL, options.Label), Attr(CKA.CKA_ID, id),
            Attr(CKA.CKA_SENSITIVE, options.Sensitive), Attr(CKA.CKA_EXTRACTABLE, options.Extractable),
        };
        HsmObjectType type;
        switch (spec.Kind)
        {
            case HsmKeyKind.Aes:
                type = HsmObjectType.SecretKey;
                template.AddRange([Attr(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), Attr(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
                    Attr(CKA.CKA_ENCRYPT, true), Attr(CKA.CKA_DECRYPT, true), Attr(CKA.CKA_WRAP, true), Attr(CKA.CKA_UNWRAP, true)]);
                break;
            default:
                type = HsmObjectType.Private;
                template.AddRange([Attr(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY), Attr(CKA.CKA_KEY_TYPE, spec.Kind == HsmKeyKind.Rsa ? CKK.CKK_RSA : CKK.CKK_EC), Attr(CKA.CKA_SIGN, true)]);
                if (spec.Kind == HsmKeyKind.Rsa)
                    template.Add(Attr(CKA.CKA_DECRYPT, true));
                break;
        }
        var input = wrapped.ToArray();
        var handle = Pkcs11Call.Run(() => _session.UnwrapKey(mechanism, H(unwrappingKey), input, template));
        return new HsmKey(handle.ObjectId, type, spec.Kind, options.Label, id, spec.Bits);
    }

    // ---- misc ----------------------------------------------------------------------------------------------------

    public byte[] GenerateRandom(int length)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return Pkcs11Call.Run(() => _session.GenerateRandom(length));
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _session.Dispose();
    }

    internal static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
