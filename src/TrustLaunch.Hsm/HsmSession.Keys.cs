using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace TrustLaunch.Hsm;

/// <summary>Keys made on the token, by generation or by unwrapping, each with exactly the functions of its usage.</summary>
public sealed partial class HsmSession
{
    /// <summary>Generates a key (pair) on the token. Private and secret keys are sensitive and non-extractable unless
    /// <see cref="HsmKeyOptions"/> says otherwise; the key may do only what its <see cref="HsmKeyOptions.Usage"/>
    /// allows. Returns the private (or secret) key.</summary>
    /// <exception cref="FormatException">The usage does not fit the key type (an EC key that encrypts…).</exception>
    public HsmKey GenerateKey(HsmKeySpec spec, HsmKeyOptions options)
    {
        ThrowIfDisposed();
        var usage = HsmKeyUsages.Resolve(spec.Kind, options.Usage);
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
                Attr(CKA.CKA_SENSITIVE, options.Sensitive), Attr(CKA.CKA_EXTRACTABLE, options.Extractable),
            };
            var functions = AddSecretUsage(template, usage);
            var handle = Pkcs11Call.Run(() => _session.GenerateKey(Mech(CKM.CKM_AES_KEY_GEN), template));
            return new HsmKey(handle.ObjectId, HsmObjectType.SecretKey, HsmKeyKind.Aes, options.Label, id, spec.Bits, functions);
        }
        var pub = new List<IObjectAttribute>
        {
            Attr(CKA.CKA_TOKEN, true), Attr(CKA.CKA_PRIVATE, false), Attr(CKA.CKA_LABEL, options.Label), Attr(CKA.CKA_ID, id),
        };
        var priv = new List<IObjectAttribute>
        {
            Attr(CKA.CKA_TOKEN, true), Attr(CKA.CKA_PRIVATE, true), Attr(CKA.CKA_LABEL, options.Label), Attr(CKA.CKA_ID, id),
            Attr(CKA.CKA_SENSITIVE, options.Sensitive), Attr(CKA.CKA_EXTRACTABLE, options.Extractable),
        };
        CKM mechanism;
        if (spec.Kind == HsmKeyKind.Rsa)
        {
            mechanism = CKM.CKM_RSA_PKCS_KEY_PAIR_GEN;
            pub.Add(Attr(CKA.CKA_MODULUS_BITS, (ulong)spec.Bits));
            pub.Add(Attr(CKA.CKA_PUBLIC_EXPONENT, new byte[] { 0x01, 0x00, 0x01 }));
        }
        else
        {
            mechanism = CKM.CKM_EC_KEY_PAIR_GEN;
            pub.Add(Attr(CKA.CKA_EC_PARAMS, HsmKeySpec.CurveParams(spec.Bits)));
        }
        AddPublicUsage(pub, spec.Kind, usage);
        var privateFunctions = AddPrivateUsage(priv, spec.Kind, usage);
        IObjectHandle? pubHandle = null, privHandle = null;
        Pkcs11Call.Run(() => _session.GenerateKeyPair(Mech(mechanism), pub, priv, out pubHandle, out privHandle));
        return new HsmKey(privHandle!.ObjectId, HsmObjectType.Private, spec.Kind, options.Label, id, spec.Bits, privateFunctions);
    }

    /// <summary>Unwraps into a new token key (AES secret key, or with an AES wrapping key also an RSA/EC private key),
    /// sensitive and non-extractable unless <paramref name="options"/> says otherwise, limited to its usage.</summary>
    public HsmKey Unwrap(HsmKey unwrappingKey, ReadOnlySpan<byte> wrapped, HsmKeySpec spec, HsmKeyOptions options)
    {
        ThrowIfDisposed();
        var usage = HsmKeyUsages.Resolve(spec.Kind, options.Usage);
        var mechanism = unwrappingKey.Kind switch
        {
            HsmKeyKind.Aes => Mech(CKM.CKM_AES_KEY_WRAP_PAD),
            HsmKeyKind.Rsa when unwrappingKey.Type == HsmObjectType.Private => Oaep(),
            _ => throw new HsmException("C_UnwrapKey", "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT", $"{unwrappingKey.Describe()} cannot unwrap; use an AES key or an RSA private key"),
        };
        unwrappingKey.Require(HsmKeyFunctions.Unwrap, "C_UnwrapKey");
        var id = options.Id ?? RandomNumberGenerator.GetBytes(8);
        var template = new List<IObjectAttribute>
        {
            Attr(CKA.CKA_TOKEN, true), Attr(CKA.CKA_PRIVATE, true), Attr(CKA.CKA_LABEL, options.Label), Attr(CKA.CKA_ID, id),
            Attr(CKA.CKA_SENSITIVE, options.Sensitive), Attr(CKA.CKA_EXTRACTABLE, options.Extractable),
        };
        HsmObjectType type;
        HsmKeyFunctions functions;
        if (spec.Kind == HsmKeyKind.Aes)
        {
            type = HsmObjectType.SecretKey;
            template.AddRange([Attr(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), Attr(CKA.CKA_KEY_TYPE, CKK.CKK_AES)]);
            functions = AddSecretUsage(template, usage);
        }
        else
        {
            type = HsmObjectType.Private;
            template.AddRange([Attr(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY), Attr(CKA.CKA_KEY_TYPE, spec.Kind == HsmKeyKind.Rsa ? CKK.CKK_RSA : CKK.CKK_EC)]);
            functions = AddPrivateUsage(template, spec.Kind, usage);
        }
        var input = wrapped.ToArray();
        var handle = Pkcs11Call.Run(() => _session.UnwrapKey(mechanism, H(unwrappingKey), input, template));
        return new HsmKey(handle.ObjectId, type, spec.Kind, options.Label, id, spec.Bits, functions);
    }

    // Every function attribute is set, false ones too: a module's defaults (SoftHSM: true) must not add a second use.
    private HsmKeyFunctions AddSecretUsage(List<IObjectAttribute> template, HsmKeyUsage usage)
    {
        var encrypt = usage == HsmKeyUsage.Encrypt;
        var wrap = usage == HsmKeyUsage.Wrap;
        template.AddRange([Attr(CKA.CKA_ENCRYPT, encrypt), Attr(CKA.CKA_DECRYPT, encrypt), Attr(CKA.CKA_WRAP, wrap), Attr(CKA.CKA_UNWRAP, wrap),
            Attr(CKA.CKA_SIGN, false), Attr(CKA.CKA_VERIFY, false), Attr(CKA.CKA_DERIVE, false)]);
        return encrypt ? HsmKeyFunctions.Encrypt | HsmKeyFunctions.Decrypt : HsmKeyFunctions.Wrap | HsmKeyFunctions.Unwrap;
    }

    private void AddPublicUsage(List<IObjectAttribute> template, HsmKeyKind kind, HsmKeyUsage usage)
    {
        template.Add(Attr(CKA.CKA_VERIFY, usage == HsmKeyUsage.Sign));
        if (kind == HsmKeyKind.Rsa)
            template.AddRange([Attr(CKA.CKA_ENCRYPT, usage == HsmKeyUsage.Encrypt), Attr(CKA.CKA_WRAP, usage == HsmKeyUsage.Wrap)]);
    }

    private HsmKeyFunctions AddPrivateUsage(List<IObjectAttribute> template, HsmKeyKind kind, HsmKeyUsage usage)
    {
        template.AddRange([Attr(CKA.CKA_SIGN, usage == HsmKeyUsage.Sign), Attr(CKA.CKA_DERIVE, false)]);
        if (kind == HsmKeyKind.Rsa)
            template.AddRange([Attr(CKA.CKA_DECRYPT, usage == HsmKeyUsage.Encrypt), Attr(CKA.CKA_UNWRAP, usage == HsmKeyUsage.Wrap)]);
        return usage switch
        {
            HsmKeyUsage.Sign => HsmKeyFunctions.Sign,
            HsmKeyUsage.Encrypt => HsmKeyFunctions.Decrypt,
            _ => HsmKeyFunctions.Unwrap,
        };
    }
}
