using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Cli.Parsing;
using TrustLaunch.Tpm;

namespace TrustLaunch.Cli.Commands.Tpm;

/// <summary><c>trustlaunch tpm ak create|evict</c>: attestation keys (children of the default EK, as tpm2_createak makes
/// them) persisted in the owner range of persistent handles.</summary>
public static class TpmAkCommand
{
    public const uint DefaultHandle = 0x8101_0002;

    public static Command Create(GlobalOptions options) =>
        new("ak", "Create or remove a persistent attestation key (restricted signing key)")
        {
            CreateCreate(options),
            CreateEvict(options),
        };

    private static Command CreateCreate(GlobalOptions options)
    {
        var outPublic = new Option<FileInfo>("--out-public") { Description = "Write the AK public key here", HelpName = "FILE", Required = true };
        var alg = CliParsers.KeyTypeOption("--alg", TpmAlgId.Ecc, "AK type: ECC P-256/ECDSA-SHA256 or RSA-2048/RSASSA-SHA256");
        var persist = CliParsers.HandleOption("--persist", $"Persistent handle for the AK (default {CliParsers.FormatHandle(DefaultHandle)})", DefaultHandle);
        var format = new Option<string>("--format")
        {
            Description = "Public key file format: pem (SubjectPublicKeyInfo) or tpm2b (TPM2B_PUBLIC, tpm2-tools -u)",
            HelpName = "pem|tpm2b",
            DefaultValueFactory = _ => "pem",
        };
        format.AcceptOnlyFromAmong("pem", "tpm2b");
        var force = new Option<bool>("--force") { Description = "Evict whatever is persisted at the handle first" };
        var command = new Command("create", "Create an AK under the default EK, persist it and write its public key")
        {
            outPublic, alg, persist, format, force,
        };
        command.SetAction(async (parse, ct) =>
        {
            var handle = parse.GetValue(persist);
            RequireOwnerPersistent(handle, "--persist");
            using var device = options.OpenTpm(parse);
            if (await IsPersistedAsync(device, handle, ct).ConfigureAwait(false))
            {
                if (!parse.GetValue(force))
                    throw new CliFailureException($"handle {CliParsers.FormatHandle(handle)} is in use; evict it or pick another with --persist");
                await device.EvictAsync(handle, ct).ConfigureAwait(false);
            }

            var type = parse.GetValue(alg);
            var ak = await device.CreateAkAsync(type, cancellationToken: ct).ConfigureAwait(false);
            try
            {
                await device.PersistAsync(ak.Handle, handle, ct).ConfigureAwait(false);
            }
            finally
            {
                await device.FlushContextAsync(ak.Handle, CancellationToken.None).ConfigureAwait(false);
            }

            var file = parse.GetValue(outPublic)!;
            var fileFormat = parse.GetValue(format)!;
            if (fileFormat == "pem")
                await File.WriteAllTextAsync(file.FullName, ak.Public.ExportPem() + "\n", ct).ConfigureAwait(false);
            else
                await File.WriteAllBytesAsync(file.FullName, ak.Public.ToTpm2bPublic(), ct).ConfigureAwait(false);

            var result = new AkCreateResult(CliParsers.FormatHandle(handle), CliParsers.KeyTypeName(type), CliParsers.Hex(ak.Name), file.FullName, fileFormat);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.AkCreateResult, (w, r) =>
            {
                w.WriteLine($"handle: {r.Handle}");
                w.WriteLine($"type:   {r.Type}");
                w.WriteLine($"name:   {r.Name}");
                w.WriteLine($"public: {r.PublicFile} ({r.Format})");
            }).ConfigureAwait(false);
        });
        return command;
    }

    private static Command CreateEvict(GlobalOptions options)
    {
        var handleArgument = CliParsers.HandleArgument("HANDLE", "Persistent handle to remove, e.g. 0x81010002");
        var command = new Command("evict", "Remove a persistent key") { handleArgument };
        command.SetAction(async (parse, ct) =>
        {
            var handle = parse.GetValue(handleArgument);
            RequireOwnerPersistent(handle, "HANDLE");
            using var device = options.OpenTpm(parse);
            if (!await IsPersistedAsync(device, handle, ct).ConfigureAwait(false))
                throw new CliFailureException($"nothing is persisted at handle {CliParsers.FormatHandle(handle)}");
            await device.EvictAsync(handle, ct).ConfigureAwait(false);
            return await CliOutput.For(parse, options).WriteAsync(new AkEvictResult(CliParsers.FormatHandle(handle)),
                CliJsonContext.Output.AkEvictResult, (w, r) => w.WriteLine($"evicted {r.Handle}")).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<bool> IsPersistedAsync(TpmDevice device, uint handle, CancellationToken ct) =>
        (await device.GetHandlesAsync(TpmHandles.PersistentFirst, ct).ConfigureAwait(false)).Contains(handle);

    /// <summary>The owner hierarchy's persistent range is 0x81000000–0x817FFFFF.</summary>
    private static void RequireOwnerPersistent(uint handle, string what)
    {
        if (handle is < 0x8100_0000 or > 0x817F_FFFF)
            throw new CliUsageException($"{what} {CliParsers.FormatHandle(handle)} is not an owner persistent handle (0x81000000-0x817fffff)");
    }
}
