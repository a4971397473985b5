using Stefna.Samples.Web;

var app = StefnaWebApp.Create(args);
await app.RunAsync();
