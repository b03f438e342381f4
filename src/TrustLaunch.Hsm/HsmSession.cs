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
public sealed partial class HsmSession : IDisposable
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

    /// <summary>The one key the URI names; a URI for another token, none or several matches are errors.</summary>
    public HsmKey FindKey(Pkcs11Uri uri, HsmObjectType? defaultType = null)
    {
        ThrowIfDisposed();
        if (uri.Token is { } t && t != TokenLabel)
            throw new HsmException("C_FindObjects", "wrong token", $"{uri.ToDisplayString()} names token '{t}', but the session is on '{TokenLabel}'");
        if (uri.Object is null && uri.Id is null)
            throw new FormatException($"PKCS#11 URI '{uri.ToDisplayString()}' names no key: give object= or id=");
        var type = uri.Type ?? defaultType;
        var found = FindObjects(uri.Object, uri.Id, type);
        var keys = found.Where(h => ClassOf(h) is HsmObjectType.Public or HsmObjectType.Private or HsmObjectType.SecretKey).ToList();
        return keys.Count switch
        {
            0 => throw new HsmException("C_FindObjects", "key not found", $"no {(type is { } k ? Pkcs11Uri.TypeName(k) + " " : "")}key matches {uri.ToDisplayString()} on token '{TokenLabel}' (logged in? private keys are only visible after login)"),
            1 => Describe(keys[0]),
            _ => throw new HsmException("C_FindObjects", "key ambiguous", $"{keys.Count} keys match {uri.ToDisplayString()} on token '{TokenLabel}'; add type= or id="),
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
        return new HsmKey(h.ObjectId, type, kind, label, id, bits, FunctionsOf(h));
    }

    private static readonly (CKA Attribute, HsmKeyFunctions Function)[] FunctionAttributes =
    [
        (CKA.CKA_SIGN, HsmKeyFunctions.Sign), (CKA.CKA_VERIFY, HsmKeyFunctions.Verify), (CKA.CKA_ENCRYPT, HsmKeyFunctions.Encrypt),
        (CKA.CKA_DECRYPT, HsmKeyFunctions.Decrypt), (CKA.CKA_WRAP, HsmKeyFunctions.Wrap), (CKA.CKA_UNWRAP, HsmKeyFunctions.Unwrap),
    ];

    /// <summary>The functions the key's attributes allow; one that cannot be read counts as not allowed.</summary>
    private HsmKeyFunctions FunctionsOf(IObjectHandle h)
    {
        var values = Pkcs11Call.Run(() => _session.GetAttributeValue(h, [.. FunctionAttributes.Select(f => f.Attribute)]));
        var functions = HsmKeyFunctions.None;
        for (var i = 0; i < FunctionAttributes.Length; i++)
        {
            if (!values[i].CannotBeRead && values[i].GetValueAsBool())
                functions |= FunctionAttributes[i].Function;
        }
        return functions;
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
            throw new FormatException($"PKCS#11 URI '{uri.ToDisplayString()}' names no key: give object= or id=");
        var found = FindObjects(uri.Object, uri.Id, uri.Type);
        if (found.Count == 0)
            throw new HsmException("C_FindObjects", "key not found", $"nothing matches {uri.ToDisplayString()} on token '{TokenLabel}'");
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
