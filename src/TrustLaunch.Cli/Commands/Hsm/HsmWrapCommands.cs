using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm wrap|unwrap</c>: AES key wrap with padding (RFC 5649) or RSA-OAEP.</summary>
public static class HsmWrapCommands
{
    public static Command CreateWrap(GlobalOptions options, HsmOptions hsm)
    {
        var wrapping = new Option<string>("--wrapping-key") { Description = "AES key or RSA public key", HelpName = "URI|LABEL", Required = true };
        var key = HsmIo.Key("The extractable key to wrap");
        var output = HsmIo.Out("Write the wrapped key here (default: print it in hex)");
        var command = new Command("wrap", "Export a key encrypted under another key") { wrapping, key, output };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var wrapUri = HsmOptions.KeyUri(parse.GetValue(wrapping)!);
            var keyUri = HsmOptions.KeyUri(parse.GetValue(key)!);
            using var session = hsm.Open(parse, wrapUri.Token is null ? keyUri : wrapUri);
            var kek = FindEither(session, wrapUri, HsmObjectType.Public);
            var target = FindEither(session, keyUri, HsmObjectType.Private);
            var wrapped = session.Wrap(kek, target);
            var outFile = parse.GetValue(output);
            if (outFile is not null)
                await File.WriteAllBytesAsync(outFile, wrapped, ct).ConfigureAwait(false);
            var r = new HsmDataResult(new Pkcs11Uri { Token = session.TokenLabel, Object = target.Label, Type = target.Type }.ToString(),
                kek.Kind == HsmKeyKind.Aes ? "AES-KEY-WRAP-PAD" : "RSA-OAEP", wrapped.Length, outFile is null ? Convert.ToHexStringLower(wrapped) : null, outFile);
            return await CliOutput.For(parse, options).WriteAsync(r, CliJsonContext.Output.HsmDataResult,
                (w, x) => w.WriteLine(x.OutFile is null ? x.Data : $"wrote {x.Bytes}-byte wrapped key ({x.Mechanism}) to {x.OutFile}")).ConfigureAwait(false);
        }));
        return command;
    }

    public static Command CreateUnwrap(GlobalOptions options, HsmOptions hsm)
    {
        var unwrapping = new Option<string>("--unwrapping-key") { Description = "AES key or RSA private key", HelpName = "URI|LABEL", Required = true };
        var input = HsmIo.In("The wrapped key");
        var type = new Option<string>("--type") { Description = "What the wrapped key is: aes:128|aes:192|aes:256 (AES unwrap also rsa:N, ec:pN)", HelpName = "TYPE", Required = true };
        var label = new Option<string>("--label") { Description = "Label for the new key", HelpName = "LABEL", Required = true };
        var extractable = new Option<bool>("--extractable") { Description = "Let the new key be wrapped again" };
        var usage = HsmIo.Usage();
        var command = new Command("unwrap", "Import a wrapped key as a new token key") { unwrapping, input, type, label, extractable, usage };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var uri = HsmOptions.KeyUri(parse.GetValue(unwrapping)!);
            var (spec, keyUsage) = HsmIo.KeySpec(parse.GetValue(type)!, parse.GetValue(usage));
            var wrapped = HsmIo.Read(parse.GetValue(input)!);
            using var session = hsm.Open(parse, uri);
            var kek = FindEither(session, uri, HsmObjectType.Private);
            var key = session.Unwrap(kek, wrapped, spec, new HsmKeyOptions { Label = parse.GetValue(label)!, Extractable = parse.GetValue(extractable), Usage = keyUsage });
            var result = new HsmKeygenResult(new Pkcs11Uri { Token = session.TokenLabel, Object = key.Label, Type = key.Type }.ToString(), spec.ToString(),
                key.Label, Convert.ToHexStringLower(key.Id), parse.GetValue(extractable), null, null);
            return await CliOutput.For(parse, options).WriteAsync(result, CliJsonContext.Output.HsmKeygenResult,
                (w, r) => w.WriteLine($"unwrapped {r.Type} as {r.Uri}")).ConfigureAwait(false);
        }));
        return command;
    }

    /// <summary>A secret key of that name, else the asymmetric key of <paramref name="asymmetric"/> type.</summary>
    private static HsmKey FindEither(HsmSession session, Pkcs11Uri uri, HsmObjectType asymmetric)
    {
        if (uri.Type is not null)
            return session.FindKey(uri);
        try
        {
            return session.FindKey(uri, HsmObjectType.SecretKey);
        }
        catch (HsmException)
        {
            return session.FindKey(uri, asymmetric);
        }
    }
}
