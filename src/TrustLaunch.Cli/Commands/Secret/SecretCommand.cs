using System.CommandLine;
using TrustLaunch.Cli.Commands.Golden;
using TrustLaunch.Kbs.Client;
using TrustLaunch.Kbs.Secrets;

namespace TrustLaunch.Cli.Commands.Secret;

/// <summary>
/// <c>trustlaunch secret seal vault --resource kbs:///… | envelope --kek-file F --key-id kbs:///… --file VALUE</c>,
/// both with <c>--key PEM|pkcs11:URI [--kid KID]</c>: prints a CoCo sealed secret (<c>sealed.</c> + ES256 JWS) that
/// only a node the broker releases the resource (vault) or KEK (envelope) to can open. The kid defaults to the
/// key's RFC 7638 thumbprint; nodes trust it as <c>KID.pem</c> in their <c>--secret-trust</c> directory.
/// </summary>
public static class SecretCommand
{
    public static Command Create()
    {
        var seal = new Command("seal", "Seal a secret for attested nodes: print sealed.HEADER.PAYLOAD.SIGNATURE");
        seal.Subcommands.Add(Vault());
        seal.Subcommands.Add(Envelope());
        var secret = new Command("secret", "Sealed secrets (Confidential Containers' form), opened only through the key broker");
        secret.Subcommands.Add(seal);
        return secret;
    }

    private static (Option<string> Key, Option<string?> Kid) SignerOptions(Command command)
    {
        var key = new Option<string>("--key") { Description = "ES256 signing key: a P-256 PEM private key or a pkcs11: URI", HelpName = "KEYREF", Required = true };
        var kid = new Option<string?>("--kid") { Description = "The kid nodes know the key by (default: its JWK thumbprint)", HelpName = "KID" };
        command.Options.Add(key);
        command.Options.Add(kid);
        return (key, kid);
    }

    private static Option<string> ResourceOption(string name, string description) =>
        new(name) { Description = description, HelpName = "kbs:///REPOSITORY/TYPE/TAG", Required = true };

    private static Command Vault()
    {
        var resource = ResourceOption("--resource", "The broker resource that is the secret's value");
        var command = new Command("vault", "The value is a broker resource; the sealed form only names it") { resource };
        var (key, kid) = SignerOptions(command);
        command.SetAction(async (parse, ct) =>
        {
            var uri = CheckedUri(parse.GetValue(resource)!, "--resource");
            return await SignAsync(parse, key, kid, (signer, k) => SealedSecret.SealVault(uri, signer, k)).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Envelope()
    {
        var kekFile = new Option<FileInfo>("--kek-file") { Description = "The 32-byte KEK, as stored in the broker under --key-id", HelpName = "FILE", Required = true };
        var keyId = ResourceOption("--key-id", "The broker resource holding the KEK");
        var file = new Option<FileInfo>("--file") { Description = "The secret's value", HelpName = "FILE", Required = true };
        var command = new Command("envelope", "Encrypt a value under a fresh data key wrapped by a KEK the broker holds") { kekFile, keyId, file };
        var (key, kid) = SignerOptions(command);
        command.SetAction(async (parse, ct) =>
        {
            var uri = CheckedUri(parse.GetValue(keyId)!, "--key-id");
            var kek = await ReadAsync(parse.GetValue(kekFile)!, "--kek-file", 33, ct).ConfigureAwait(false);
            var value = await ReadAsync(parse.GetValue(file)!, "--file", SealedSecret.MaxLength, ct).ConfigureAwait(false);
            try
            {
                if (kek.Length != 32)
                    throw new CliUsageException($"--kek-file {parse.GetValue(kekFile)!.FullName} holds {kek.Length} bytes; a KEK is 32");
                return await SignAsync(parse, key, kid, (signer, k) => SealedSecret.SealEnvelope(value, kek, uri, signer, k)).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(kek);
                Array.Clear(value);
            }
        });
        return command;
    }

    private static async Task<int> SignAsync(ParseResult parse, Option<string> key, Option<string?> kid, Func<TrustLaunch.Jose.IPayloadSigner, string, string> seal)
    {
        var signer = SigningKeys.Open(parse.GetValue(key)!, "--key");
        try
        {
            string text;
            try
            {
                text = seal(signer, parse.GetValue(kid) ?? signer.KeyId);
            }
            catch (SealedSecretException e)
            {
                throw new CliUsageException(e.Message);
            }
            await parse.InvocationConfiguration.Output.WriteLineAsync(text).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        finally
        {
            (signer as IDisposable)?.Dispose();
        }
    }

    private static string CheckedUri(string text, string option)
    {
        try
        {
            KbsResourceUri.Parse(text);
            return text;
        }
        catch (FormatException e)
        {
            throw new CliUsageException($"{option} {e.Message}");
        }
    }

    private static async Task<byte[]> ReadAsync(FileInfo file, string option, int max, CancellationToken ct)
    {
        if (!file.Exists)
            throw new CliUsageException($"{option} {file.FullName}: no such file");
        if (file.Length > max)
            throw new CliUsageException($"{option} {file.FullName} is larger than {max} bytes");
        return await File.ReadAllBytesAsync(file.FullName, ct).ConfigureAwait(false);
    }
}
