using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Agent.Launcher;
using TrustLaunch.Cli.Commands.Kbs;
using TrustLaunch.Cli.Commands.KeyProvider;
using TrustLaunch.Cli.Output;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Oci.Crypt;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Image;

/// <summary>
/// <c>trustlaunch image encrypt SRC DST --recipient jwe:PUB.pem… --recipient provider:trustlaunch:kbs:///…</c>: pulls
/// SRC, encrypts every layer with ocicrypt (AES-256-CTR + HMAC-SHA256, the key wrapped for each JWE recipient in one
/// JWE, and for each key provider recipient in a packet under the key-encryption key kept at that broker resource,
/// see <see cref="ImageKeyEncryptionKeys"/>) and pushes an OCI image to DST. <c>skopeo copy --decryption-key</c>
/// decrypts the JWE recipients; provider layers open only through the broker, on an attested node.
/// </summary>
public static class ImageEncryptCommand
{
    private const string JwePrefix = "jwe:";
    private const string ProviderPrefix = "provider:" + KeyProviderPacket.ProviderName + ":";

    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var source = RegistryOptions.ReferenceArgument("SRC", "The image to encrypt");
        var destination = RegistryOptions.ReferenceArgument("DST", "Where to push the encrypted image");
        var recipient = new Option<string[]>("--recipient")
        {
            Description = "jwe:PUBLIC-KEY.pem (RSA or EC P-256/P-384/P-521, SPKI PEM) or provider:trustlaunch:kbs:///REPOSITORY/TYPE/TAG "
                + "(key-encryption key kept at the broker: --kbs-admin, --tls-dir); repeatable, at least one",
            HelpName = "jwe:FILE|provider:trustlaunch:URI",
            Required = true,
        };
        var platform = RegistryOptions.PlatformOption();
        var command = new Command("encrypt", "Encrypt an image's layers for recipients (ocicrypt JWE) and push it")
        {
            source, destination, recipient, platform,
        };
        var admin = new KbsAdminOptions();
        admin.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var src = RegistryOptions.ParseReference(parse.GetValue(source)!);
            var dst = RegistryOptions.ParseReference(parse.GetValue(destination)!);
            var p = RegistryOptions.ParsePlatform(parse.GetValue(platform));
            var (recipients, kids) = LoadRecipients(parse.GetValue(recipient) ?? []);
            var store = registry.OpenStore(parse);
            using var client = registry.CreateClient(parse, options.Input, src, dst);
            var output = CliOutput.For(parse, options);
            var view = output.Json ? null : new PullProgressView(output.Writer, PullProgressView.IsTerminal(output.Writer));
            var image = await LocalImages.PullAsync(client, store, src, p, [], view, ct).ConfigureAwait(false);
            view?.Complete();
            using var providers = await ProviderRecipientsAsync(parse, admin, kids, ct).ConfigureAwait(false);

            var layers = new List<OciDescriptor>();
            var report = new List<EncryptedLayer>();
            foreach (var layer in image.Manifest.Layers)
            {
                if (MediaTypes.IsEncrypted(layer.MediaType))
                    throw new CliFailureException($"image {src}: layer {layer.Digest} is already encrypted");
                var plain = layer with { MediaType = OciLayerType(layer.MediaType) };
                var temp = Path.Combine(Path.GetTempPath(), $"trustlaunch-encrypt-{Guid.NewGuid():N}");
                await using var ciphertext = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                    FileOptions.Asynchronous | FileOptions.DeleteOnClose);
                OciDescriptor encrypted;
                await using (var blob = store.OpenBlob(layer.Digest))
                    encrypted = await Ocicrypt.EncryptAsync(plain, blob, ciphertext, recipients, providers, ct).ConfigureAwait(false);
                ciphertext.Position = 0;
                await client.PushBlobAsync(dst, encrypted.Digest, encrypted.Size, ciphertext, ct).ConfigureAwait(false);
                layers.Add(encrypted);
                report.Add(new EncryptedLayer(layer.Digest.ToString(), encrypted.Digest.ToString(), encrypted.MediaType, encrypted.Size));
            }

            var config = image.Manifest.Config with
            {
                MediaType = image.Manifest.Config.MediaType == MediaTypes.DockerConfig ? MediaTypes.OciConfig : image.Manifest.Config.MediaType,
            };
            await using (var blob = store.OpenBlob(config.Digest))
                await client.PushBlobAsync(dst, config.Digest, config.Size, blob, ct).ConfigureAwait(false);
            var manifest = image.Manifest with { SchemaVersion = 2, MediaType = MediaTypes.OciManifest, Config = config, Layers = layers };
            var bytes = JsonSerializer.SerializeToUtf8Bytes(manifest, OciJson.Readable.OciManifest);
            var digest = await client.PushManifestAsync(dst, bytes, MediaTypes.OciManifest, ct).ConfigureAwait(false);

            var result = new EncryptResult(src.ToString(), dst.ToString(), digest.ToString(), recipients.Count + providers.Count, report);
            return await output.WriteAsync(result, CliJsonContext.Output.EncryptResult, (w, x) =>
            {
                foreach (var l in x.Layers)
                    w.WriteLine($"layer {l.PlainDigest} -> {l.EncryptedDigest} ({l.MediaType})");
                w.WriteLine($"pushed {x.Destination} {x.ManifestDigest} ({x.Layers.Count} layers encrypted for {x.Recipients} recipients)");
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static (List<EncryptionRecipient> Jwe, List<KbsResourceUri> Kids) LoadRecipients(IEnumerable<string> values)
    {
        var recipients = new List<EncryptionRecipient>();
        var kids = new List<KbsResourceUri>();
        foreach (var value in values)
        {
            if (value.StartsWith(ProviderPrefix, StringComparison.Ordinal))
            {
                try
                {
                    var kid = ImageKeyEncryptionKeys.ParseKid(value[ProviderPrefix.Length..]);
                    if (kids.Contains(kid))
                        throw new CliUsageException($"--recipient {value} is given twice");
                    kids.Add(kid);
                }
                catch (FormatException e)
                {
                    throw new CliUsageException($"--recipient {value}: {e.Message}");
                }
                continue;
            }
            if (!value.StartsWith(JwePrefix, StringComparison.Ordinal))
                throw new CliUsageException($"--recipient '{value}': only jwe:PUBLIC-KEY.pem and {ProviderPrefix}kbs:///REPOSITORY/TYPE/TAG recipients are supported");
            var file = value[JwePrefix.Length..];
            if (!File.Exists(file))
                throw new CliUsageException($"--recipient {value}: no such file");
            try
            {
                recipients.Add(EncryptionRecipient.FromFile(file));
            }
            catch (Exception e) when (e is CryptographicException or InvalidCastException)
            {
                throw new CliUsageException($"--recipient {file}: not an RSA or EC public key: {e.Message}");
            }
        }
        if (recipients.Count == 0 && kids.Count == 0)
            throw new CliUsageException("--recipient: at least one recipient is needed");
        return (recipients, kids);
    }

    /// <summary>The key-encryption key of each provider recipient, created at the broker when it has none.</summary>
    private static async Task<DisposableList<ProviderRecipient>> ProviderRecipientsAsync(ParseResult parse, KbsAdminOptions admin, List<KbsResourceUri> kids,
        CancellationToken cancellationToken)
    {
        var providers = new DisposableList<ProviderRecipient>(null);
        try
        {
            foreach (var kid in kids)
            {
                var kek = await admin.CallAsync(parse, client => ImageKeyEncryptionKeys.GetOrCreateAsync(client, kid, cancellationToken)).ConfigureAwait(false);
                try
                {
                    providers.Add(new ProviderRecipient(kid.WithoutAuthority, kek));
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(kek);
                }
            }
            return providers;
        }
        catch
        {
            providers.Dispose();
            throw;
        }
    }

    /// <summary>Docker schema 2 layer types have no encrypted form: the OCI type of the same content.</summary>
    private static string OciLayerType(string mediaType) => mediaType switch
    {
        MediaTypes.DockerLayerGzip => MediaTypes.OciLayerGzip,
        "application/vnd.docker.image.rootfs.diff.tar" => MediaTypes.OciLayerTar,
        _ => mediaType,
    };
}
