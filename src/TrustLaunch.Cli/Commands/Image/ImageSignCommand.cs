using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using TrustLaunch.Cli.Output;
using TrustLaunch.Oci.Policy;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary>What <c>image sign</c> wrote: the format, the signer (OpenPGP fingerprint or key id) and where.</summary>
public sealed record ImageSignResult(string Reference, string ManifestDigest, string Format, string Signer, string Location);

/// <summary>
/// <c>trustlaunch image sign REF (--gpg-key FILE [--passphrase-file F] | --key PEM) [--registries.d DIR]</c>: signs the
/// manifest the registry serves under REF now, as <c>skopeo copy --sign-by</c> does (an OpenPGP simple signing
/// signature in the lookaside staging store registries.d names, <c>REPO@sha256=HEX/signature-N</c>) or as cosign does
/// (ECDSA, added to the <c>sha256-HEX.sig</c> attachment in the registry).
/// </summary>
public static class ImageSignCommand
{
    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var gpgKey = new Option<string?>("--gpg-key") { Description = "OpenPGP secret key (gpg --export-secret-keys, binary or armored): simple signing", HelpName = "FILE" };
        var passphraseFile = new Option<string?>("--passphrase-file") { Description = "First line: the --gpg-key passphrase (default: none)", HelpName = "FILE" };
        var key = new Option<string?>("--key") { Description = "EC P-256 private key (PEM): a sigstore (cosign) signature", HelpName = "PEM" };
        var registriesD = ImageSignaturePolicyOptions.RegistriesDOption();
        var command = new Command("sign", "Sign an image as skopeo (OpenPGP, lookaside) or cosign (sigstore attachment) do")
        {
            reference, gpgKey, passphraseFile, key, registriesD,
        };
        command.SetAction(async (parse, ct) =>
        {
            var image = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var gpg = parse.GetValue(gpgKey);
            var pem = parse.GetValue(key);
            if ((gpg is null) == (pem is null))
                throw new CliUsageException("give exactly one of --gpg-key FILE (simple signing) and --key PEM (sigstore)");
            using var client = registry.CreateClient(parse, options.Input, image);
            var digest = await client.ResolveAsync(image, ct).ConfigureAwait(false);
            ImageSignResult result;
            if (gpg is not null)
            {
                var storage = ImageSignaturePolicyOptions.LoadRegistriesD(parse.GetValue(registriesD)).For(image);
                var passphrase = ReadPassphrase(parse.GetValue(passphraseFile));
                try
                {
                    var secret = File.Exists(gpg) ? File.ReadAllBytes(gpg) : throw new CliUsageException($"--gpg-key {gpg}: no such file");
                    var (path, signer) = ImageSigner.SignToLookaside(image, digest, storage, secret, passphrase);
                    result = new ImageSignResult(image.ToString(), digest.ToString(), "simple-signing", signer, path);
                }
                catch (FormatException e)
                {
                    throw new CliUsageException($"--gpg-key {gpg}: {e.Message}");
                }
                finally
                {
                    Array.Clear(passphrase);
                }
            }
            else
            {
                using var ec = LoadEcKey(pem!);
                var tag = await ImageSigner.SignWithCosignAsync(client, image, digest, ec, ct).ConfigureAwait(false);
                var keyId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(ec.ExportSubjectPublicKeyInfo()));
                result = new ImageSignResult(image.ToString(), digest.ToString(), "sigstore", keyId, tag.ToString());
            }
            return await CliOutput.For(parse, options).WriteAsync(result, ImageSignJsonContext.Output.ImageSignResult,
                (w, r) => w.WriteLine($"signed {r.Reference} {r.ManifestDigest} ({r.Format}, {r.Signer}) -> {r.Location}")).ConfigureAwait(false);
        });
        return command;
    }

    private static char[] ReadPassphrase(string? file)
    {
        if (file is null)
            return [];
        if (!File.Exists(file))
            throw new CliUsageException($"--passphrase-file {file}: no such file");
        var bytes = File.ReadAllBytes(file);
        try
        {
            var text = Encoding.UTF8.GetString(bytes);
            var end = text.IndexOfAny(['\r', '\n']);
            return (end < 0 ? text : text[..end]).ToCharArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    private static ECDsa LoadEcKey(string file)
    {
        if (!File.Exists(file))
            throw new CliUsageException($"--key {file}: no such file");
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(File.ReadAllText(file));
            try
            {
                ec.ExportParameters(includePrivateParameters: true);
            }
            catch (CryptographicException)
            {
                throw new CliUsageException($"--key {file}: a public key; signing needs the private key");
            }
            if (ec.KeySize != 256)
                throw new CliUsageException($"--key {file}: an EC P-{ec.KeySize} key; cosign signatures here use P-256");
            return ec;
        }
        catch (ArgumentException e)
        {
            ec.Dispose();
            throw new CliUsageException($"--key {file}: not an EC private key (PEM): {e.Message}");
        }
        catch
        {
            ec.Dispose();
            throw;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(ImageSignResult))]
internal sealed partial class ImageSignJsonContext : JsonSerializerContext
{
    /// <summary>As <see cref="CliJsonContext.Output"/>: '+' and other HTML-sensitive characters unescaped.</summary>
    public static ImageSignJsonContext Output { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
