// Swagger UI for /api/v1, from the vendored bundle; requests carry the CSRF header.
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  if (!element || typeof window.SwaggerUIBundle === "undefined") return;
  window.SwaggerUIBundle({
    url: element.dataset.openapiUrl,
    domNode: element,
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (request) {
      request.headers[element.dataset.csrfHeader] = element.dataset.csrfToken;
      return request;
    },
  });
});
