using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using TrustLaunch.Hosting.Pki;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Registrar.Registration;

/// <summary>The checks a registration passes before a challenge is made; each refusal says exactly what failed.</summary>
internal static class RegistrationChecks
{
    /// <summary>fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign (0x00050072).</summary>
    public const TpmaObject AkRequired = TpmaObject.FixedTpm | TpmaObject.FixedParent | TpmaObject.SensitiveDataOrigin
        | TpmaObject.UserWithAuth | TpmaObject.Restricted | TpmaObject.Sign;

    public const string AkWithPolicy = "the AK has adminWithPolicy or an authPolicy: its admin role (ActivateCredential) must need its authValue";
    public const string EkCertificateRefused = "EK certificate refused";
    public const string MissingEkCertificate = "no EK certificate: this registrar requires one (--require-ek-cert)";
    public const string EkCertificateKeyMismatch = "the EK certificate's public key is not the EK public key";

    public static void AgentId(string agentId)
    {
        if (string.IsNullOrEmpty(agentId) || agentId.Length > 128 || !agentId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw BadRequest("invalid agent id", $"agent id '{agentId}' must be 1-128 letters, digits, '-', '_' or '.'");
    }

    public static TpmPublic Ek(byte[]? ekPublic)
    {
        var ek = Parse(ekPublic, "EK");
        const TpmaObject storage = TpmaObject.Restricted | TpmaObject.Decrypt;
        if ((ek.Attributes & storage) != storage || (ek.Attributes & TpmaObject.Sign) != 0)
            throw BadRequest("invalid EK", $"the EK is not a restricted decryption key: attributes 0x{(uint)ek.Attributes:X8}");
        return ek;
    }

    public static TpmPublic Ak(byte[]? akPublic)
    {
        var ak = Parse(akPublic, "AK");
        if (ak.Type is not (TpmAlgId.Rsa or TpmAlgId.Ecc) || (ak.Attributes & AkRequired) != AkRequired || (ak.Attributes & TpmaObject.Decrypt) != 0)
            throw BadRequest("invalid AK",
                $"the AK is not a restricted signing key: type {ak.Type}, attributes 0x{(uint)ak.Attributes:X8}; need RSA or ECC with fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign (0x{(uint)AkRequired:X8}) and no decrypt");
        // ActivateCredential needs the AK's admin role. With adminWithPolicy clear and no policy, only the authValue
        // grants it, and a TPM has none for a key loaded public-only (TPM2_LoadExternal): a software key claiming
        // fixedTPM cannot answer the challenge, whatever policy a TPM would accept for such an object.
        if ((ak.Attributes & TpmaObject.AdminWithPolicy) != 0 || ak.AuthPolicy.Length != 0)
            throw BadRequest("invalid AK", AkWithPolicy);
        return ak;
    }

    /// <summary>The EK certificate must chain to the EK CA bundle and certify exactly this EK's public key.</summary>
    public static void EkCertificate(byte[]? certificate, TpmPublic ek, CaBundle? ekCa, bool required)
    {
        if (certificate is null or { Length: 0 })
        {
            if (required)
                throw Forbidden(EkCertificateRefused, MissingEkCertificate);
            return;
        }
        X509Certificate2 parsed;
        try
        {
            parsed = X509CertificateLoader.LoadCertificate(certificate);
        }
        catch (CryptographicException e)
        {
            throw BadRequest(EkCertificateRefused, $"the EK certificate is not a DER X.509 certificate: {e.Message}");
        }
        using (parsed)
        {
            if (ekCa is not null && ekCa.Validate(parsed, requiredEkuOid: null) is { } reason)
                throw Forbidden(EkCertificateRefused, reason);
            if (!SameKey(parsed, ek))
                throw Forbidden(EkCertificateRefused, EkCertificateKeyMismatch);
        }
    }

    /// <summary>The agent's mTLS certificate (PEM) must be an agent certificate of our CA.</summary>
    public static void TlsCertificate(string? pem, CaBundle trust)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(pem ?? "");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw BadRequest("invalid TLS certificate", $"the agent TLS certificate is not a PEM certificate: {e.Message}");
        }
        using (certificate)
        {
            if (trust.Validate(certificate, CaBundle.ServerAuthOid) is { } reason)
                throw Forbidden("TLS certificate refused", reason);
            if (CertificateRoles.Read(certificate) is not { Role: ServiceRoles.Agent })
                throw Forbidden("TLS certificate refused", $"certificate '{certificate.Subject}' is not an agent certificate (no {CertificateRoles.UriScheme}://{ServiceRoles.Agent}/NAME URI)");
        }
    }

    private static bool SameKey(X509Certificate2 certificate, TpmPublic ek)
    {
        switch (ek)
        {
            case { Rsa: { } rsa }:
                using (var key = certificate.GetRSAPublicKey())
                {
                    if (key is null)
                        return false;
                    var p = key.ExportParameters(false);
                    var exponent = rsa.Exponent == 0 ? 65537u : rsa.Exponent;
                    return p.Modulus.AsSpan().SequenceEqual(rsa.Modulus) && ToUInt32(p.Exponent!) == exponent;
                }
            case { Ecc: { } ecc }:
                using (var key = certificate.GetECDsaPublicKey())
                {
                    var q = key?.ExportParameters(false).Q;
                    return q is { X: { } x, Y: { } y } && x.AsSpan().SequenceEqual(ecc.X) && y.AsSpan().SequenceEqual(ecc.Y);
                }
            default:
                return false;
        }
    }

    private static uint ToUInt32(byte[] bigEndian) =>
        bigEndian.Length > 4 ? uint.MaxValue : bigEndian.Aggregate(0u, (value, b) => (value << 8) | b);

    private static TpmPublic Parse(byte[]? tpm2bPublic, string what)
    {
        if (tpm2bPublic is null or { Length: 0 })
            throw BadRequest($"invalid {what}", $"the {what} public area is missing");
        try
        {
            return TpmPublic.ParseTpm2b(tpm2bPublic);
        }
        catch (TpmFormatException e)
        {
            throw BadRequest($"invalid {what}", $"the {what} public area is not a TPM2B_PUBLIC: {e.Message}");
        }
    }

    public static RegistrationRefusedException BadRequest(string title, string detail) => new(StatusCodes.Status400BadRequest, title, detail);

    public static RegistrationRefusedException Forbidden(string title, string detail) => new(StatusCodes.Status403Forbidden, title, detail);
}
