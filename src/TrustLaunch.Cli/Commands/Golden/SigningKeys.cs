using System.Security.Cryptography;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary>
/// Parses a KEYREF: a PEM private key file today; <c>pkcs11:…</c> URIs (RFC 7512) are recognized so that the HSM
/// module can plug its <see cref="IPayloadSigner"/> in here.
/// </summary>
public static class SigningKeys
{
    public const string Pkcs11Scheme = "pkcs11:";

    public static PemPayloadSigner Open(string keyRef)
    {
        if (keyRef.StartsWith(Pkcs11Scheme, StringComparison.OrdinalIgnoreCase))
            throw new CliUsageException($"--key {keyRef}: PKCS#11 keys are not available until the HSM module lands; use a PEM private key file");
        if (!File.Exists(keyRef))
            throw new CliUsageException($"--key {keyRef}: no such file");
        try
        {
            return PemPayloadSigner.FromFile(keyRef);
        }
        catch (CryptographicException e)
        {
            throw new CliUsageException($"--key {e.Message}");
        }
    }

    public static TrustedKeys LoadTrusted(string fileOrDirectory)
    {
        if (!File.Exists(fileOrDirectory) && !Directory.Exists(fileOrDirectory))
            throw new CliUsageException($"--trust {fileOrDirectory}: no such file or directory");
        try
        {
            return TrustedKeys.Load(fileOrDirectory);
        }
        catch (Exception e) when (e is CryptographicException or FileNotFoundException)
        {
            throw new CliUsageException($"--trust {e.Message}");
        }
    }
}
