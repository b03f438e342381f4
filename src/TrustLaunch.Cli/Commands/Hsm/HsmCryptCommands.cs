using System.CommandLine;
using TrustLaunch.Cli.Output;
using TrustLaunch.Hsm;

namespace TrustLaunch.Cli.Commands.Hsm;

/// <summary><c>trustlaunch hsm encrypt|decrypt</c>: RSA-OAEP (SHA-1, what SoftHSM 2.6 offers) or AES-256-GCM
/// (output iv || ciphertext || tag).</summary>
public static class HsmCryptCommands
{
    public static Command CreateEncrypt(GlobalOptions options, HsmOptions hsm) => Create(options, hsm, encrypt: true);

    public static Command CreateDecrypt(GlobalOptions options, HsmOptions hsm) => Create(options, hsm, encrypt: false);

    private static Command Create(GlobalOptions options, HsmOptions hsm, bool encrypt)
    {
        var key = HsmIo.Key(encrypt ? "AES key or RSA public key" : "AES key or RSA private key");
        var input = HsmIo.In(encrypt ? "Plaintext (- for stdin)" : "Ciphertext (- for stdin)");
        var output = HsmIo.Out("Write the result here (default: print it in hex)");
        var command = new Command(encrypt ? "encrypt" : "decrypt", encrypt ? "Encrypt with RSA-OAEP or AES-GCM" : "Decrypt RSA-OAEP or AES-GCM") { key, input, output };
        command.SetAction((parse, ct) => HsmOptions.Run(async () =>
        {
            var uri = HsmOptions.KeyUri(parse.GetValue(key)!);
            var data = HsmIo.Read(parse.GetValue(input)!);
            using var session = hsm.Open(parse, uri);
            HsmKey k;
            if (uri.Type is not null)
                k = session.FindKey(uri);
            else
            {
                try
                {
                    k = session.FindKey(uri, HsmObjectType.SecretKey);
                }
                catch (HsmException)
                {
                    k = session.FindKey(uri, encrypt ? HsmObjectType.Public : HsmObjectType.Private);
                }
            }
            var result = encrypt ? session.Encrypt(k, data) : session.Decrypt(k, data);
            var outFile = parse.GetValue(output);
            if (outFile is not null)
                await File.WriteAllBytesAsync(outFile, result, ct).ConfigureAwait(false);
            var r = new HsmDataResult(new Pkcs11Uri { Token = session.TokenLabel, Object = k.Label, Type = k.Type }.ToString(),
                k.Kind == HsmKeyKind.Aes ? "AES-GCM" : "RSA-OAEP", result.Length, outFile is null ? Convert.ToHexStringLower(result) : null, outFile);
            return await CliOutput.For(parse, options).WriteAsync(r, CliJsonContext.Output.HsmDataResult,
                (w, x) => w.WriteLine(x.OutFile is null ? x.Data : $"wrote {x.Bytes} bytes ({x.Mechanism}) to {x.OutFile}")).ConfigureAwait(false);
        }));
        return command;
    }
}
