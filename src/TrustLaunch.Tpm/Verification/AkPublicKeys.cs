using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

/// <summary>Loads an attestation key's public part from the files tpm2-tools and TrustLaunch write.</summary>
public static class AkPublicKeys
{
    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1";
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const int MaxPemLength = 64 * 1024;

    /// <summary>
    /// Loads a SubjectPublicKeyInfo PEM (<c>tpm2_createak -f pem</c>, <see cref="TpmPublic.ExportPem"/>), a PKCS#1
    /// <c>RSA PUBLIC KEY</c> PEM, or TPM2B_PUBLIC bytes (<c>tpm2_createak -u</c> default format).
    /// </summary>
    /// <returns>An <see cref="RSA"/> or an <see cref="ECDsa"/>; the caller disposes it.</returns>
    /// <exception cref="TpmFormatException">The bytes are neither form, or hold no usable RSA/ECC public key.</exception>
    public static AsymmetricAlgorithm Load(ReadOnlySpan<byte> fileContents)
    {
        if (LooksLikePem(fileContents))
            return LoadPem(fileContents);
        if (fileContents.IsEmpty)
            throw new TpmFormatException("AK public key: the file is empty");
        var pub = TpmPublic.ParseTpm2b(fileContents);
        if (pub.Type is not (TpmAlgId.Rsa or TpmAlgId.Ecc))
            throw new TpmFormatException($"TPM2B_PUBLIC: type 0x{(ushort)pub.Type:X4} is not an RSA or ECC key");
        if (pub.Rsa is { Modulus.Length: 0 } || pub.Ecc is { X.Length: 0 } or { Y.Length: 0 })
            throw new TpmFormatException("TPM2B_PUBLIC: unique is empty (a template, not a created key)");
        try
        {
            return pub.ToAsymmetricAlgorithm();
        }
        catch (Exception e) when (e is CryptographicException or NotSupportedException)
        {
            throw new TpmFormatException($"TPM2B_PUBLIC: the {(pub.Type == TpmAlgId.Rsa ? "RSA" : "ECC")} key is unusable: {e.Message}");
        }
    }

    /// <summary>The attributes a TPM2B_PUBLIC must carry to be an AK: a restricted signing key that cannot leave its TPM.</summary>
    public const TpmaObject AttestationKeyAttributes = TpmaObject.FixedTpm | TpmaObject.FixedParent | TpmaObject.Restricted | TpmaObject.Sign;

    /// <summary>
    /// <see cref="Load"/> for an attestation key: a TPM2B_PUBLIC must also be a restricted signing key with fixedTPM
    /// and fixedParent, and no decrypt (a PEM file carries no attributes to check).
    /// </summary>
    /// <exception cref="TpmFormatException">As <see cref="Load"/>, or the TPM2B_PUBLIC is not such a key.</exception>
    public static AsymmetricAlgorithm LoadAttestationKey(ReadOnlySpan<byte> fileContents)
    {
        if (!LooksLikePem(fileContents) && !fileContents.IsEmpty && AttestationKeyProblem(TpmPublic.ParseTpm2b(fileContents)) is { } problem)
            throw new TpmFormatException("TPM2B_PUBLIC: " + problem);
        return Load(fileContents);
    }

    /// <summary>Why <paramref name="key"/> cannot be an AK, or null when its attributes make it one.</summary>
    public static string? AttestationKeyProblem(TpmPublic key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var missing = AttestationKeyAttributes & ~key.Attributes;
        var decrypt = (key.Attributes & TpmaObject.Decrypt) != 0;
        if (missing == TpmaObject.None && !decrypt)
            return null;
        var wrong = new List<string>();
        if (missing != TpmaObject.None)
            wrong.Add("missing " + AttributeNames(missing));
        if (decrypt)
            wrong.Add("has decrypt");
        return $"not a restricted signing key bound to its TPM: {string.Join(", ", wrong)} (attributes 0x{(uint)key.Attributes:X8}; an AK needs {AttributeNames(AttestationKeyAttributes)} and no decrypt)";
    }

    private static string AttributeNames(TpmaObject attributes)
    {
        (TpmaObject Flag, string Name)[] names =
            [(TpmaObject.FixedTpm, "fixedTPM"), (TpmaObject.FixedParent, "fixedParent"), (TpmaObject.Restricted, "restricted"), (TpmaObject.Sign, "sign")];
        return string.Join('|', names.Where(n => (attributes & n.Flag) != 0).Select(n => n.Name));
    }

    private static bool LooksLikePem(ReadOnlySpan<byte> contents)
    {
        ReadOnlySpan<byte> byteOrderMark = [0xEF, 0xBB, 0xBF];
        if (contents.StartsWith(byteOrderMark))
            contents = contents[byteOrderMark.Length..];
        return contents.TrimStart(" \t\r\n"u8).StartsWith("-----BEGIN"u8);
    }

    private static AsymmetricAlgorithm LoadPem(ReadOnlySpan<byte> contents)
    {
        if (contents.Length > MaxPemLength)
            throw new TpmFormatException($"AK public key PEM: {contents.Length} bytes exceeds the maximum of {MaxPemLength}");
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(contents);
        }
        catch (ArgumentException)
        {
            throw new TpmFormatException("AK public key PEM: not valid UTF-8 text");
        }
        if (!PemEncoding.TryFind(text, out var fields))
            throw new TpmFormatException("AK public key PEM: no complete PEM block found");
        var label = text[fields.Label];
        var der = Convert.FromBase64String(text[fields.Base64Data]);
        try
        {
            switch (label)
            {
                case "PUBLIC KEY":
                    return ImportSubjectPublicKeyInfo(der);
                case "RSA PUBLIC KEY":
                    var rsa = RSA.Create();
                    try
                    {
                        rsa.ImportRSAPublicKey(der, out var read);
                        if (read != der.Length)
                            throw new TpmFormatException("AK public key PEM: trailing data after the RSA public key");
                        return rsa;
                    }
                    catch
                    {
                        rsa.Dispose();
                        throw;
                    }
                default:
                    throw new TpmFormatException($"AK public key PEM: label '{label}' is not PUBLIC KEY or RSA PUBLIC KEY");
            }
        }
        catch (Exception e) when (e is CryptographicException or AsnContentException or NotSupportedException)
        {
            throw new TpmFormatException($"AK public key PEM: {label} is not a valid key: {e.Message}");
        }
    }

    private static AsymmetricAlgorithm ImportSubjectPublicKeyInfo(byte[] der)
    {
        var oid = ReadAlgorithmOid(der);
        AsymmetricAlgorithm key = oid switch
        {
            RsaEncryptionOid => RSA.Create(),
            EcPublicKeyOid => ECDsa.Create(),
            _ => throw new TpmFormatException($"AK public key PEM: algorithm {oid} is not RSA or EC"),
        };
        try
        {
            key.ImportSubjectPublicKeyInfo(der, out var read);
            if (read != der.Length)
                throw new TpmFormatException("AK public key PEM: trailing data after the SubjectPublicKeyInfo");
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE { OID, params }, subjectPublicKey BIT STRING }.</summary>
    private static string ReadAlgorithmOid(byte[] der)
    {
        var spki = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        return spki.ReadSequence().ReadObjectIdentifier();
    }
}
