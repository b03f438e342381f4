using System.CommandLine;
using System.Globalization;
using TrustLaunch.Cli.Commands.Image;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary>
/// <c>trustlaunch golden publish REF --key KEYREF [--expires 90d|DATE] [--decryption-key F]… [--plain-image PLAIN_REF]</c>:
/// pulls and unpacks the image (in a scratch directory) to measure its rootfs, signs the golden value and pushes it to
/// the image's repository as an OCI artifact tagged <c>sha256-HEX.golden</c>. An encrypted image is measured decrypted:
/// with its JWE keys, or on the image it was encrypted from (<see cref="PlainImageMeasurement"/>), the value naming
/// the encrypted manifest.
/// </summary>
public static class GoldenPublishCommand
{
    public const string DefaultExpiry = "90d";

    public static Command Create(GlobalOptions options, RegistryOptions registry)
    {
        var reference = RegistryOptions.ReferenceArgument();
        var key = new Option<string>("--key")
        {
            Description = "Publisher private key: a PEM file or a pkcs11: URI (PIN from its pin-source=FILE or $TRUSTLAUNCH_HSM_PIN); EC P-256 signs ES256, RSA RS256",
            HelpName = "KEYREF",
            Required = true,
        };
        var expires = new Option<string>("--expires")
        {
            Description = $"Validity: a duration (30s, 12h, 90d) or a UTC date/time (2027-01-31 or 2027-01-31T12:00:00Z); default {DefaultExpiry}",
            HelpName = "DURATION|DATE",
            DefaultValueFactory = _ => DefaultExpiry,
        };
        var platform = RegistryOptions.PlatformOption();
        var keys = RegistryOptions.DecryptionKeyOption();
        var plainImage = new Option<string?>("--plain-image")
        {
            Description = "The image REF was encrypted from (image encrypt): its rootfs is measured instead, with no layer key; the config and layers must correspond",
            HelpName = "PLAIN_REF",
        };
        var command = new Command("publish", "Measure an image, sign its golden value and push it next to the image")
        {
            reference, key, expires, platform, keys, plainImage,
        };
        command.SetAction(async (parse, ct) =>
        {
            var r = RegistryOptions.ParseReference(parse.GetValue(reference)!);
            var p = RegistryOptions.ParsePlatform(parse.GetValue(platform));
            var created = DateTimeOffset.UtcNow;
            var expiry = ParseExpiry(parse.GetValue(expires)!, created);
            var signer = SigningKeys.Open(parse.GetValue(key)!);
            using var signerLifetime = signer as IDisposable;
            using var ring = RegistryOptions.LoadDecryptionKeys(parse.GetValue(keys));
            var store = registry.OpenStore(parse);
            using var client = registry.CreateClient(parse, options.Input, r);
            var output = CliOutput.For(parse, options);

            var view = output.Json ? null : new PullProgressView(output.Writer, PullProgressView.IsTerminal(output.Writer));
            var plainReference = parse.GetValue(plainImage) is { } plainText ? RegistryOptions.ParseReference(plainText) : null;
            // Keys are checked against the image they open: with --plain-image, that one has none.
            var image = await LocalImages.PullAsync(client, store, r, p, plainReference is null ? ring : [], view, ct).ConfigureAwait(false);
            var measured = image;
            if (plainReference is not null)
            {
                using var plainClient = registry.CreateClient(parse, options.Input, plainReference);
                measured = await LocalImages.PullAsync(plainClient, store, plainReference, p, [], view, ct).ConfigureAwait(false);
                PlainImageMeasurement.CheckEncryptedFrom(image, measured);
            }
            else if (PlainImageMeasurement.FirstProviderOnlyLayer(image.Manifest) is { } layer)
            {
                throw new CliUsageException($"layer {layer} of {r} is encrypted only for key provider {Oci.Crypt.KeyProviderPacket.ProviderName}: measure the image it was " +
                    "encrypted from with --plain-image PLAIN_REF");
            }
            view?.Complete();
            var scratch = Directory.CreateTempSubdirectory("trustlaunch-golden-").FullName;
            Oci.Content.Digest rootfsDigest;
            try
            {
                rootfsDigest = (await LocalImages.UnpackAsync(store, measured, ring, Path.Combine(scratch, "rootfs"), ct).ConfigureAwait(false)).Digests.Current;
            }
            finally
            {
                Directory.Delete(scratch, recursive: true);
            }

            var value = new GoldenValue
            {
                Reference = r.ToString(),
                ManifestDigest = image.ManifestDigest,
                ConfigDigest = image.Manifest.Config.Digest,
                LayerDigests = image.Manifest.Layers.Select(l => l.Digest).ToList(),
                DiffIds = image.Config.RootFs.DiffIds,
                RootfsDigest = rootfsDigest,
                Created = created,
                Expires = expiry,
            };
            var artifact = GoldenArtifact.Build(value.Sign(signer), image.ManifestDescriptor);
            var tagReference = r.WithTag(GoldenArtifact.TagFor(image.ManifestDigest));
            var artifactDigest = await GoldenArtifact.PushAsync(client, tagReference, artifact, ct).ConfigureAwait(false);

            var result = new GoldenPublishResult(r.ToString(), image.ManifestDigest.ToString(), tagReference.ToString(), artifactDigest.ToString(),
                signer.KeyId, signer.Algorithm, rootfsDigest.ToString(), created, expiry);
            return await output.WriteAsync(result, CliJsonContext.Output.GoldenPublishResult, (w, x) =>
            {
                w.WriteLine($"published {x.Tag}");
                w.WriteLine($"image:   {x.Reference} {x.ManifestDigest}");
                w.WriteLine($"rootfs:  {x.RootfsDigest}");
                w.WriteLine($"key id:  {x.KeyId} ({x.Algorithm})");
                w.WriteLine($"expires: {GoldenTime(x.Expires)}");
            }).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary><c>N[smhd]</c> from <paramref name="now"/>, or an absolute UTC date/time that must lie ahead.</summary>
    public static DateTimeOffset ParseExpiry(string text, DateTimeOffset now)
    {
        DateTimeOffset expiry;
        if (CliParsers.LooksLikeDuration(text))
        {
            if (!CliParsers.TryParseDuration(text, out var duration))
                throw new CliUsageException($"--expires {text}: the duration must be positive and under 100 years");
            expiry = now + duration;
        }
        else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
        {
            expiry = date;
        }
        else
        {
            throw new CliUsageException($"--expires '{text}' is neither a duration (30s, 12h, 90d) nor a date (2027-01-31T12:00:00Z)");
        }
        // Golden values carry whole seconds; an expiry within the current second would be before the creation time.
        if (expiry.ToUnixTimeSeconds() <= now.ToUnixTimeSeconds())
            throw new CliUsageException($"--expires {text}: {GoldenTime(expiry)} is not after now ({GoldenTime(now)})");
        return expiry;
    }

    public static string GoldenTime(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
