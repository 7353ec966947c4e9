/**
 * The messages a VPN client shows after `client-deny` or HALT, in `http.default_language`: a client
 * sends no Accept-Language, so its message cannot follow the browser. The bridge writes every
 * message in English; this table gives each one in the other languages, keyed by the English
 * text. A message missing here (one naming a configured claim) goes out in English.
 */
import type { Language } from "../config/languages.ts";
import type { ClientCommander } from "./commander.ts";

type Translations = Readonly<Record<Exclude<Language, "en">, string>>;

export const CLIENT_MESSAGES: ReadonlyMap<string, Translations> = new Map<string, Translations>([
  [
    "Your VPN client cannot do browser sign-in. Update it, or add 'setenv IV_SSO webauth' to its config.",
    {
      de:
        "Ihr VPN-Client kann keine Anmeldung im Browser. Aktualisieren Sie ihn oder ergänzen Sie 'setenv IV_SSO webauth' in seiner Konfiguration.",
      fr:
        "Votre client VPN ne sait pas se connecter via le navigateur. Mettez-le à jour ou ajoutez 'setenv IV_SSO webauth' à sa configuration.",
      es:
        "Su cliente VPN no puede iniciar sesión en el navegador. Actualícelo o añada 'setenv IV_SSO webauth' a su configuración.",
    },
  ],
  [
    "Your VPN client is too old for browser sign-in. Update it to OpenVPN 2.6 or later.",
    {
      de:
        "Ihr VPN-Client ist zu alt für die Anmeldung im Browser. Aktualisieren Sie ihn auf OpenVPN 2.6 oder neuer.",
      fr:
        "Votre client VPN est trop ancien pour se connecter via le navigateur. Mettez-le à jour vers OpenVPN 2.6 ou plus récent.",
      es:
        "Su cliente VPN es demasiado antiguo para iniciar sesión en el navegador. Actualícelo a OpenVPN 2.6 o posterior.",
    },
  ],
  [
    "This VPN server is too old for browser sign-in. Ask its administrator to update OpenVPN.",
    {
      de:
        "Dieser VPN-Server ist zu alt für die Anmeldung im Browser. Bitten Sie seinen Administrator, OpenVPN zu aktualisieren.",
      fr:
        "Ce serveur VPN est trop ancien pour se connecter via le navigateur. Demandez à son administrateur de mettre OpenVPN à jour.",
      es:
        "Este servidor VPN es demasiado antiguo para iniciar sesión en el navegador. Pida a su administrador que actualice OpenVPN.",
    },
  ],
  [
    "Your VPN user name must be the one you sign in with, including case",
    {
      de:
        "Ihr VPN-Benutzername muss genau der sein, mit dem Sie sich anmelden, auch in Groß- und Kleinschreibung",
      fr:
        "Votre nom d'utilisateur VPN doit être celui avec lequel vous vous connectez, majuscules et minuscules comprises",
      es:
        "Su nombre de usuario de VPN debe ser el mismo con el que inicia sesión, incluidas mayúsculas y minúsculas",
    },
  ],
  [
    "Your VPN user name must be empty or the one you sign in with, including case",
    {
      de:
        "Ihr VPN-Benutzername muss leer sein oder genau der, mit dem Sie sich anmelden, auch in Groß- und Kleinschreibung",
      fr:
        "Votre nom d'utilisateur VPN doit être vide ou celui avec lequel vous vous connectez, majuscules et minuscules comprises",
      es:
        "Su nombre de usuario de VPN debe estar vacío o ser el mismo con el que inicia sesión, incluidas mayúsculas y minúsculas",
    },
  ],
  [
    "Your VPN session has expired. Reconnect to sign in again.",
    {
      de: "Ihre VPN-Sitzung ist abgelaufen. Verbinden Sie sich neu, um sich wieder anzumelden.",
      fr: "Votre session VPN a expiré. Reconnectez-vous pour vous identifier à nouveau.",
      es: "Su sesión VPN ha caducado. Vuelva a conectarse para iniciar sesión de nuevo.",
    },
  ],
  [
    "Your VPN session has ended. Reconnect to sign in again.",
    {
      de: "Ihre VPN-Sitzung ist beendet. Verbinden Sie sich neu, um sich wieder anzumelden.",
      fr: "Votre session VPN est terminée. Reconnectez-vous pour vous identifier à nouveau.",
      es: "Su sesión VPN ha terminado. Vuelva a conectarse para iniciar sesión de nuevo.",
    },
  ],
  [
    "You are not in a group allowed to use this VPN",
    {
      de: "Sie sind in keiner Gruppe, die dieses VPN nutzen darf",
      fr: "Vous n'appartenez à aucun groupe autorisé à utiliser ce VPN",
      es: "No pertenece a ningún grupo autorizado a usar esta VPN",
    },
  ],
  [
    "You do not have a role allowed to use this VPN",
    {
      de: "Sie haben keine Rolle, die dieses VPN nutzen darf",
      fr: "Vous n'avez aucun rôle autorisé à utiliser ce VPN",
      es: "No tiene ningún rol autorizado a usar esta VPN",
    },
  ],
  [
    "Your account's email address is not verified",
    {
      de: "Die E-Mail-Adresse Ihres Kontos ist nicht bestätigt",
      fr: "L'adresse e-mail de votre compte n'est pas vérifiée",
      es: "La dirección de correo de su cuenta no está verificada",
    },
  ],
  [
    "This VPN certificate does not belong to your account",
    {
      de: "Dieses VPN-Zertifikat gehört nicht zu Ihrem Konto",
      fr: "Ce certificat VPN n'appartient pas à votre compte",
      es: "Este certificado VPN no pertenece a su cuenta",
    },
  ],
  [
    "Your account is missing information this VPN needs; contact your administrator",
    {
      de:
        "Ihrem Konto fehlen Angaben, die dieses VPN benötigt; wenden Sie sich an Ihren Administrator",
      fr:
        "Il manque à votre compte des informations nécessaires à ce VPN ; contactez votre administrateur",
      es:
        "A su cuenta le falta información que esta VPN necesita; póngase en contacto con su administrador",
    },
  ],
  [
    "Login was denied or cancelled at the identity provider",
    {
      de: "Die Anmeldung wurde beim Identitätsanbieter abgelehnt oder abgebrochen",
      fr: "La connexion a été refusée ou annulée auprès du fournisseur d'identité",
      es: "El inicio de sesión fue denegado o cancelado en el proveedor de identidad",
    },
  ],
  [
    "The identity provider refused the login",
    {
      de: "Der Identitätsanbieter hat die Anmeldung abgelehnt",
      fr: "Le fournisseur d'identité a refusé la connexion",
      es: "El proveedor de identidad rechazó el inicio de sesión",
    },
  ],
  [
    "Login request expired or does not match; please start again",
    {
      de: "Die Anmeldeanfrage ist abgelaufen oder passt nicht; bitte beginnen Sie von vorn",
      fr: "La demande de connexion a expiré ou ne correspond pas ; recommencez",
      es: "La solicitud de inicio de sesión caducó o no coincide; empiece de nuevo",
    },
  ],
  [
    "Invalid login response from the identity provider",
    {
      de: "Ungültige Anmeldeantwort des Identitätsanbieters",
      fr: "Réponse de connexion invalide du fournisseur d'identité",
      es: "Respuesta de inicio de sesión no válida del proveedor de identidad",
    },
  ],
  [
    "Invalid identity token from the identity provider",
    {
      de: "Ungültiges Identitätstoken des Identitätsanbieters",
      fr: "Jeton d'identité invalide du fournisseur d'identité",
      es: "Token de identidad no válido del proveedor de identidad",
    },
  ],
  [
    "Invalid response from the identity provider",
    {
      de: "Ungültige Antwort des Identitätsanbieters",
      fr: "Réponse invalide du fournisseur d'identité",
      es: "Respuesta no válida del proveedor de identidad",
    },
  ],
  [
    "Identity provider session ended; please log in again",
    {
      de: "Die Sitzung beim Identitätsanbieter ist beendet; bitte melden Sie sich erneut an",
      fr: "La session auprès du fournisseur d'identité est terminée ; reconnectez-vous",
      es: "La sesión en el proveedor de identidad terminó; inicie sesión de nuevo",
    },
  ],
  [
    "Identity provider is unreachable; please try again later",
    {
      de: "Der Identitätsanbieter ist nicht erreichbar; bitte versuchen Sie es später erneut",
      fr: "Le fournisseur d'identité est injoignable ; réessayez plus tard",
      es: "El proveedor de identidad no está disponible; inténtelo más tarde",
    },
  ],
  [
    "Your user name cannot be used with this VPN; contact your administrator",
    {
      de:
        "Ihr Benutzername kann mit diesem VPN nicht verwendet werden; wenden Sie sich an Ihren Administrator",
      fr:
        "Votre nom d'utilisateur ne peut pas être utilisé avec ce VPN ; contactez votre administrateur",
      es:
        "Su nombre de usuario no se puede usar con esta VPN; póngase en contacto con su administrador",
    },
  ],
  [
    "Sign-in must happen from the same network as the VPN connection",
    {
      de: "Die Anmeldung muss aus demselben Netzwerk erfolgen wie die VPN-Verbindung",
      fr: "La connexion doit se faire depuis le même réseau que la connexion VPN",
      es: "El inicio de sesión debe hacerse desde la misma red que la conexión VPN",
    },
  ],
  [
    "You already have the maximum number of VPN sessions; disconnect one and try again",
    {
      de:
        "Sie haben bereits so viele VPN-Sitzungen wie erlaubt; trennen Sie eine und versuchen Sie es erneut",
      fr: "Vous avez déjà le nombre maximal de sessions VPN ; déconnectez-en une et réessayez",
      es: "Ya tiene el número máximo de sesiones VPN; desconecte una e inténtelo de nuevo",
    },
  ],
  [
    "Sign-in failed on the server; try again",
    {
      de: "Die Anmeldung ist auf dem Server fehlgeschlagen; versuchen Sie es erneut",
      fr: "La connexion a échoué sur le serveur ; réessayez",
      es: "El inicio de sesión falló en el servidor; inténtelo de nuevo",
    },
  ],
  [
    "Too many sign-ins from your address; try again in a few minutes",
    {
      de: "Zu viele Anmeldungen von Ihrer Adresse; versuchen Sie es in einigen Minuten erneut",
      fr: "Trop de connexions depuis votre adresse ; réessayez dans quelques minutes",
      es: "Demasiados inicios de sesión desde su dirección; inténtelo de nuevo en unos minutos",
    },
  ],
  [
    "Sign-in is unavailable right now; try again in a minute.",
    {
      de: "Die Anmeldung ist gerade nicht möglich; versuchen Sie es in einer Minute erneut.",
      fr: "La connexion est impossible pour le moment ; réessayez dans une minute.",
      es: "El inicio de sesión no está disponible ahora; inténtelo de nuevo en un minuto.",
    },
  ],
  [
    "Your access could not be confirmed; reconnect to sign in again.",
    {
      de:
        "Ihr Zugang konnte nicht bestätigt werden; verbinden Sie sich neu, um sich wieder anzumelden.",
      fr: "Votre accès n'a pas pu être confirmé ; reconnectez-vous pour vous identifier à nouveau.",
      es: "No se pudo confirmar su acceso; vuelva a conectarse para iniciar sesión de nuevo.",
    },
  ],
  [
    "You signed in on another device",
    {
      de: "Sie haben sich auf einem anderen Gerät angemeldet",
      fr: "Vous vous êtes connecté sur un autre appareil",
      es: "Ha iniciado sesión en otro dispositivo",
    },
  ],
  [
    "An administrator ended your VPN session",
    {
      de: "Ein Administrator hat Ihre VPN-Sitzung beendet",
      fr: "Un administrateur a mis fin à votre session VPN",
      es: "Un administrador ha finalizado su sesión VPN",
    },
  ],
  [
    "Sign-in was not completed in time. Reconnect to try again.",
    {
      de:
        "Die Anmeldung wurde nicht rechtzeitig abgeschlossen. Verbinden Sie sich neu, um es erneut zu versuchen.",
      fr: "La connexion n'a pas été terminée à temps. Reconnectez-vous pour réessayer.",
      es:
        "El inicio de sesión no se completó a tiempo. Vuelva a conectarse para intentarlo de nuevo.",
    },
  ],
]);

/**
 * A `client-kill` message with its text after the comma (`RESTART,<text>`, `HALT,<text>`) in
 * `language`; a bare one as it is.
 */
function localizedKillMessage(message: string, language: Language): string {
  const comma = message.indexOf(",");
  if (comma < 0) return message;
  return message.slice(0, comma + 1) + clientMessage(message.slice(comma + 1), language);
}

/** The client message in `language` (English when it is English or has no translation). */
export function clientMessage(english: string, language: Language): string {
  if (language === "en") return english;
  return CLIENT_MESSAGES.get(english)?.[language] ?? english;
}

/**
 * A commander whose `client-deny`, HALT and `client-kill` messages are in the language
 * `language()` names now.
 */
export function localizedCommander(
  inner: ClientCommander,
  language: () => Language,
): ClientCommander {
  return {
    pendingAuth: (cid, kid, url, timeoutSec) => inner.pendingAuth(cid, kid, url, timeoutSec),
    auth: (cid, kid, lines) => inner.auth(cid, kid, lines),
    authNt: (cid, kid) => inner.authNt(cid, kid),
    deny: (cid, kid, reason, clientReason) =>
      inner.deny(cid, kid, reason, clientMessage(clientReason, language())),
    halt: (cid, kid, reason, clientReason) =>
      inner.halt(cid, kid, reason, clientMessage(clientReason, language())),
    kill: (cid, message, openvpnRun) =>
      inner.kill(cid, localizedKillMessage(message, language()), openvpnRun),
  };
}
