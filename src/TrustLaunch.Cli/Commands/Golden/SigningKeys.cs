using System.Security.Cryptography;
using TrustLaunch.Hsm;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary>
/// Opens a KEYREF: a PEM private key file, or a PKCS#11 URI (RFC 7512) naming a private key in an HSM, e.g.
/// <c>pkcs11:token=tl;object=golden-signer;type=private?pin-source=file:/run/pin</c>. The PIN comes from the URI's
/// pin-source (a file, <c>file:</c> optional), else <c>TRUSTLAUNCH_HSM_PIN</c>; the module from module-path, else
/// <c>TRUSTLAUNCH_HSM_MODULE</c> or SoftHSM's default path. The signer returned is disposable.
/// </summary>
public static class SigningKeys
{
    private const string FileScheme = "file:";

    /// <summary>Opens the signing key <paramref name="keyRef"/>; refusals name <paramref name="option"/>.</summary>
    public static IPayloadSigner Open(string keyRef, string option = "--key")
    {
        if (Pkcs11Uri.LooksLikeUri(keyRef))
            return OpenHsm(keyRef, option);
        if (!File.Exists(keyRef))
            throw new CliUsageException($"{option} {keyRef}: no such file");
        try
        {
            return PemPayloadSigner.FromFile(keyRef);
        }
        catch (CryptographicException e)
        {
            throw new CliUsageException($"{option} {e.Message}");
        }
    }

    private static HsmPayloadSigner OpenHsm(string keyRef, string option)
    {
        var (uri, pin) = HsmKeyRef(keyRef, option);
        try
        {
            return HsmPayloadSigner.Open(HsmModule.Load(uri.ModulePath), uri, pin);
        }
        catch (HsmException e)
        {
            throw new CliFailureException(e.Message);
        }
        finally
        {
            Array.Clear(pin);
        }
    }

    /// <summary>A PKCS#11 KEYREF given to <paramref name="option"/>: the URI and its PIN (clear it after use).</summary>
    public static (Pkcs11Uri Uri, byte[] Pin) HsmKeyRef(string keyRef, string option)
    {
        Pkcs11Uri uri;
        try
        {
            uri = Pkcs11Uri.Parse(keyRef);
        }
        catch (FormatException e)
        {
            throw new CliUsageException($"{option} {e.Message}");
        }
        if (uri.Token is null)
            throw new CliUsageException($"{option} {Pkcs11Uri.Redact(keyRef)}: the URI names no token; add token=LABEL");
        var pinFile = uri.PinSource is { } source && source.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase) ? source[FileScheme.Length..] : uri.PinSource;
        if (pinFile is not null && pinFile != "-" && !File.Exists(pinFile))
            throw new CliUsageException($"{option} {Pkcs11Uri.Redact(keyRef)}: the pin-source file does not exist");
        var pin = PinSource.Read(pinFile)
            ?? throw new CliUsageException($"{option} {Pkcs11Uri.Redact(keyRef)}: no PIN; add pin-source=FILE to the URI or set {PinSource.EnvironmentVariable}");
        return (uri, pin);
    }

    /// <summary>The public half of a signer <see cref="Open"/> made, to check what it signs.</summary>
    public static PemPayloadVerifier VerifierOf(IPayloadSigner signer) => PemPayloadVerifier.FromPem(signer switch
    {
        HsmPayloadSigner hsm => hsm.PublicKeyPem,
        PemPayloadSigner pem => pem.PublicKeyPem,
        _ => throw new ArgumentException($"{signer.GetType().Name} is not a signer SigningKeys opens", nameof(signer)),
    });

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

    /// <summary>The trust policy at <paramref name="path"/>, or the default one (golden values bound to their own repository)
    /// when null; the signers its rules require must be among <paramref name="trusted"/>.</summary>
    public static GoldenTrustPolicy LoadTrustPolicy(string? path, TrustedKeys trusted)
    {
        if (path is null)
            return GoldenTrustPolicy.Default;
        if (!File.Exists(path))
            throw new CliUsageException($"--trust-policy {path}: no such file");
        try
        {
            return GoldenTrustPolicy.Load(path, trusted.KeyIds);
        }
        catch (FormatException e)
        {
            throw new CliUsageException($"--trust-policy: {e.Message}");
        }
    }
}
