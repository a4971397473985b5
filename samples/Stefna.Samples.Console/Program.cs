using Stefna.Samples.Console;

return await CliApp.RunAsync(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, CancellationToken.None, stderrIsTerminal: !Console.IsErrorRedirected);
