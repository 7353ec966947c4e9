/**
 * The text of the built-in pages in every supported language. Functions receive values that
 * are already HTML (escaped, perhaps wrapped in <strong><bdi>) and return HTML; every other
 * string is plain text and escaped where it is used.
 *
 * `reasons` translates a denial by its fixed code; a code missing here shows the reason the
 * bridge gave (English). `errors` translates the error pages by what went wrong.
 */
import type { Language } from "../../config/languages.ts";
import { NO_CERTIFICATE } from "../../logged_certificate.ts";

export type ErrorKind =
  | "wrong-network"
  | "idp-unavailable"
  | "invalid-response"
  | "cookie-missing"
  | "client-gone"
  | "no-answer"
  | "link-elsewhere"
  | "begun-elsewhere"
  | "too-large"
  | "not-found"
  /** The session store did not answer: the login still waits, a reload goes on with it. */
  | "store-unavailable"
  | "internal";

export interface PageText {
  /** BCP 47 tag for `<html lang>` and Content-Language. */
  readonly tag: string;
  readonly confirmTitle: string;
  /** What is being authorized: the client's certificate, by its name. */
  confirmIntro(commonName: string, clientIp: string, client: string): string;
  /**
   * A client without a certificate: its address is all there is (a user name it sent is its own
   * word, never shown as its name: builtin.ts confirmIntro).
   */
  confirmIntroAddressOnly(clientIp: string, client: string): string;
  /**
   * A confirm.html template's `{{commonName}}` for a client without a certificate: a template has
   * no conditionals to leave an empty name out. Plain text; English as the logs write it.
   */
  readonly noCertificate: string;
  /**
   * The browser is on another network than the VPN client (their addresses differ): a link sent
   * to someone else signs in the sender's client. A warning only: a phone on mobile data, a split
   * tunnel, IPv6 beside IPv4 differ too (`http.check_client_ip` refuses instead).
   */
  otherNetworkWarning(browserIp: string, clientIp: string): string;
  expiresIn(minutes: number): string;
  readonly confirmWarning: string;
  readonly continueButton: string;
  readonly expiredTitle: string;
  readonly expiredText: string;
  readonly successTitle: string;
  readonly successText: string;
  signedInAs(username: string): string;
  /**
   * The sign-in was answered and this browser comes back to it: the callback page reloaded,
   * Back to the confirm page, Continue in a tab left open.
   */
  readonly finishedTitle: string;
  readonly finishedText: string;
  readonly deniedTitle: string;
  readonly deniedContact: string;
  errorStatus(status: string): string;
  readonly reasons: Readonly<Record<string, string>>;
  readonly errors: Readonly<Record<ErrorKind, { title: string; message: string }>>;
}

const en: PageText = {
  tag: "en",
  noCertificate: NO_CERTIFICATE,
  confirmTitle: "Sign in to the VPN",
  confirmIntro: (cn, ip, client) =>
    `Sign in to allow the VPN connection for certificate ${cn} from ${ip}${client}.`,
  confirmIntroAddressOnly: (ip, client) =>
    `Sign in to allow the VPN connection from ${ip}${client}.`,
  otherNetworkWarning: (browser, client) =>
    `This VPN connection comes from another network than this browser (this browser: ${browser}, the VPN client: ${client}). If you did not start it from this device, close this window.`,
  expiresIn: (n) => `This link expires in ${n} ${n === 1 ? "minute" : "minutes"}.`,
  confirmWarning:
    "If you did not just start this VPN connection yourself, close this window: someone may be trying to connect as you.",
  continueButton: "Continue to sign-in",
  expiredTitle: "Sign-in link expired",
  expiredText: "This sign-in link has expired. Reconnect your VPN to get a new one.",
  successTitle: "You are connected",
  successText: "You are connected. You can close this window.",
  signedInAs: (user) => `Signed in as ${user}.`,
  finishedTitle: "Sign-in finished",
  finishedText: "This sign-in is finished. If your VPN client is not connected, reconnect it.",
  deniedTitle: "Access denied",
  deniedContact: "If you think this is wrong, contact your administrator.",
  errorStatus: (status) => `Error ${status}`,
  // English pages show the bridge's own reason, which can be more specific (the claim's name).
  reasons: {},
  errors: {
    "wrong-network": {
      title: "Wrong network",
      message: "Sign-in must happen from the same network as the VPN connection",
    },
    "idp-unavailable": {
      title: "Sign-in unavailable",
      message: "The identity provider is not available. Try again later.",
    },
    "invalid-response": {
      title: "Invalid sign-in response",
      message: "The identity provider's answer could not be used. Reconnect your VPN to try again.",
    },
    "cookie-missing": {
      title: "Sign-in cookie missing",
      message:
        "Finish signing in in the browser that opened the sign-in link, with cookies enabled.",
    },
    "no-answer": {
      title: "VPN server did not answer",
      message:
        "The VPN server did not confirm your connection in time. If your VPN client does not connect, reconnect it to try again.",
    },
    "client-gone": {
      title: "VPN connection closed",
      message:
        "Your VPN connection closed before sign-in finished. Reconnect your VPN to try again.",
    },
    "link-elsewhere": {
      title: "Sign-in link opened elsewhere",
      message:
        "Open the sign-in link again in this browser, with cookies enabled, and press Continue.",
    },
    "begun-elsewhere": {
      title: "Sign-in already started",
      message:
        "This VPN connection is already being signed in from another browser. If that was not you, disconnect your VPN and contact your administrator.",
    },
    "too-large": { title: "Request too large", message: "The request is too large." },
    "not-found": { title: "Not found", message: "There is nothing here." },
    "store-unavailable": {
      title: "Sign-in briefly unavailable",
      message:
        "The sign-in service is briefly unavailable. Try again in a minute (reload this page).",
    },
    internal: {
      title: "Something went wrong",
      message: "Sign-in failed. Reconnect your VPN to try again.",
    },
  },
};

const de: PageText = {
  tag: "de",
  noCertificate: "(kein Zertifikat)",
  confirmTitle: "Am VPN anmelden",
  confirmIntro: (cn, ip, client) =>
    `Melden Sie sich an, um die VPN-Verbindung für das Zertifikat ${cn} von ${ip}${client} zu erlauben.`,
  confirmIntroAddressOnly: (ip, client) =>
    `Melden Sie sich an, um die VPN-Verbindung von ${ip}${client} zu erlauben.`,
  otherNetworkWarning: (browser, client) =>
    `Diese VPN-Verbindung kommt aus einem anderen Netzwerk als dieser Browser (dieser Browser: ${browser}, der VPN-Client: ${client}). Wenn Sie sie nicht auf diesem Gerät gestartet haben, schließen Sie dieses Fenster.`,
  expiresIn: (n) => `Dieser Link läuft in ${n} ${n === 1 ? "Minute" : "Minuten"} ab.`,
  confirmWarning:
    "Wenn Sie diese VPN-Verbindung nicht gerade selbst gestartet haben, schließen Sie dieses Fenster: Möglicherweise versucht jemand, sich als Sie zu verbinden.",
  continueButton: "Weiter zur Anmeldung",
  expiredTitle: "Anmeldelink abgelaufen",
  expiredText:
    "Dieser Anmeldelink ist abgelaufen. Verbinden Sie Ihr VPN neu, um einen neuen zu erhalten.",
  successTitle: "Sie sind verbunden",
  successText: "Sie sind verbunden. Sie können dieses Fenster schließen.",
  signedInAs: (user) => `Angemeldet als ${user}.`,
  finishedTitle: "Anmeldung abgeschlossen",
  finishedText:
    "Diese Anmeldung ist abgeschlossen. Wenn Ihr VPN-Client nicht verbunden ist, verbinden Sie ihn neu.",
  deniedTitle: "Zugriff verweigert",
  deniedContact: "Wenn Sie das für einen Fehler halten, wenden Sie sich an Ihren Administrator.",
  errorStatus: (status) => `Fehler ${status}`,
  reasons: {
    group: "Sie sind in keiner Gruppe, die dieses VPN nutzen darf",
    role: "Sie haben keine Rolle, die dieses VPN nutzen darf",
    claim: "Ihr Konto erfüllt eine Voraussetzung dieses VPN nicht",
    common_name: "Dieses VPN-Zertifikat gehört nicht zu Ihrem Konto",
    missing_claim:
      "Ihrem Konto fehlen Angaben, die dieses VPN benötigt; wenden Sie sich an Ihren Administrator",
    wrong_network: "Die Anmeldung muss aus demselben Netzwerk erfolgen wie die VPN-Verbindung",
    username_unusable:
      "Ihr Benutzername kann mit diesem VPN nicht verwendet werden; wenden Sie sich an Ihren Administrator",
    idp_denied: "Die Anmeldung wurde beim Identitätsanbieter abgelehnt oder abgebrochen",
    idp_error: "Die Anmeldung wurde beim Identitätsanbieter abgelehnt oder ist dort fehlgeschlagen",
    idp_unreachable: "Der Identitätsanbieter ist nicht erreichbar; versuchen Sie es später erneut",
    max_sessions: "Sie haben bereits so viele VPN-Sitzungen wie erlaubt",
    too_many_sign_ins:
      "Zu viele Anmeldungen von Ihrer Adresse; versuchen Sie es in einigen Minuten erneut",
    username_mismatch:
      "Ihr VPN-Benutzername muss genau der sein, mit dem Sie sich anmelden, auch in Groß- und Kleinschreibung",
    timeout: "Die Anmeldung wurde nicht rechtzeitig abgeschlossen",
    no_webauth: "Ihr VPN-Client kann keine Anmeldung im Browser",
    session_invalid: "Ihre VPN-Sitzung ist nicht mehr gültig",
    session_expired: "Ihre VPN-Sitzung ist abgelaufen",
    recheck_failed: "Ihr Zugang konnte nicht bestätigt werden",
    store_unavailable: "Die Anmeldung ist gerade nicht möglich; versuchen Sie es später erneut",
    internal_error: "Die Anmeldung ist auf dem Server fehlgeschlagen",
  },
  errors: {
    "wrong-network": {
      title: "Falsches Netzwerk",
      message: "Die Anmeldung muss aus demselben Netzwerk erfolgen wie die VPN-Verbindung",
    },
    "idp-unavailable": {
      title: "Anmeldung nicht möglich",
      message: "Der Identitätsanbieter ist nicht erreichbar. Versuchen Sie es später erneut.",
    },
    "invalid-response": {
      title: "Ungültige Antwort bei der Anmeldung",
      message:
        "Die Antwort des Identitätsanbieters ist unbrauchbar. Verbinden Sie Ihr VPN neu, um es erneut zu versuchen.",
    },
    "cookie-missing": {
      title: "Anmelde-Cookie fehlt",
      message:
        "Schließen Sie die Anmeldung in dem Browser ab, der den Anmeldelink geöffnet hat, mit aktivierten Cookies.",
    },
    "no-answer": {
      title: "VPN-Server hat nicht geantwortet",
      message:
        "Der VPN-Server hat Ihre Verbindung nicht rechtzeitig bestätigt. Wenn Ihr VPN-Client keine Verbindung herstellt, verbinden Sie ihn erneut.",
    },
    "client-gone": {
      title: "VPN-Verbindung geschlossen",
      message:
        "Ihre VPN-Verbindung wurde vor dem Ende der Anmeldung geschlossen. Verbinden Sie Ihr VPN neu, um es erneut zu versuchen.",
    },
    "link-elsewhere": {
      title: "Anmeldelink woanders geöffnet",
      message:
        "Öffnen Sie den Anmeldelink in diesem Browser erneut, mit aktivierten Cookies, und klicken Sie auf Weiter.",
    },
    "begun-elsewhere": {
      title: "Anmeldung bereits begonnen",
      message:
        "Diese VPN-Verbindung wird bereits in einem anderen Browser angemeldet. Wenn Sie das nicht waren, trennen Sie Ihr VPN und wenden Sie sich an Ihre Administration.",
    },
    "too-large": { title: "Anfrage zu groß", message: "Die Anfrage ist zu groß." },
    "not-found": { title: "Nicht gefunden", message: "Hier gibt es nichts." },
    "store-unavailable": {
      title: "Anmeldung kurz nicht möglich",
      message:
        "Der Anmeldedienst ist kurzzeitig nicht verfügbar. Versuchen Sie es in einer Minute erneut (laden Sie diese Seite neu).",
    },
    internal: {
      title: "Etwas ist schiefgegangen",
      message:
        "Die Anmeldung ist fehlgeschlagen. Verbinden Sie Ihr VPN neu, um es erneut zu versuchen.",
    },
  },
};

const fr: PageText = {
  tag: "fr",
  noCertificate: "(aucun certificat)",
  confirmTitle: "Connexion au VPN",
  confirmIntro: (cn, ip, client) =>
    `Connectez-vous pour autoriser la connexion VPN du certificat ${cn} depuis ${ip}${client}.`,
  confirmIntroAddressOnly: (ip, client) =>
    `Connectez-vous pour autoriser la connexion VPN depuis ${ip}${client}.`,
  otherNetworkWarning: (browser, client) =>
    `Cette connexion VPN vient d’un autre réseau que ce navigateur (ce navigateur : ${browser}, le client VPN : ${client}). Si vous ne l’avez pas lancée depuis cet appareil, fermez cette fenêtre.`,
  expiresIn: (n) => `Ce lien expire dans ${n} ${n === 1 ? "minute" : "minutes"}.`,
  confirmWarning:
    "Si vous n’avez pas lancé vous-même cette connexion VPN à l’instant, fermez cette fenêtre : quelqu’un essaie peut-être de se connecter à votre place.",
  continueButton: "Continuer vers la connexion",
  expiredTitle: "Lien de connexion expiré",
  expiredText: "Ce lien de connexion a expiré. Reconnectez votre VPN pour en obtenir un nouveau.",
  successTitle: "Vous êtes connecté",
  successText: "Vous êtes connecté. Vous pouvez fermer cette fenêtre.",
  signedInAs: (user) => `Connecté en tant que ${user}.`,
  finishedTitle: "Connexion terminée",
  finishedText:
    "Cette connexion est terminée. Si votre client VPN n’est pas connecté, reconnectez-le.",
  deniedTitle: "Accès refusé",
  deniedContact: "Si vous pensez qu’il s’agit d’une erreur, contactez votre administrateur.",
  errorStatus: (status) => `Erreur ${status}`,
  reasons: {
    group: "Vous n’appartenez à aucun groupe autorisé à utiliser ce VPN",
    role: "Vous n’avez aucun rôle autorisé à utiliser ce VPN",
    claim: "Votre compte ne remplit pas une condition requise par ce VPN",
    common_name: "Ce certificat VPN n’appartient pas à votre compte",
    missing_claim:
      "Il manque à votre compte des informations nécessaires à ce VPN ; contactez votre administrateur",
    wrong_network: "La connexion doit se faire depuis le même réseau que la connexion VPN",
    username_unusable:
      "Votre nom d’utilisateur ne peut pas être utilisé avec ce VPN ; contactez votre administrateur",
    idp_denied: "La connexion a été refusée ou annulée auprès du fournisseur d’identité",
    idp_error: "La connexion a été refusée ou a échoué auprès du fournisseur d’identité",
    idp_unreachable: "Le fournisseur d’identité est injoignable ; réessayez plus tard",
    max_sessions: "Vous avez déjà le nombre maximal de sessions VPN autorisé",
    too_many_sign_ins: "Trop de connexions depuis votre adresse ; réessayez dans quelques minutes",
    username_mismatch:
      "Votre nom d’utilisateur VPN doit être celui avec lequel vous vous connectez, majuscules et minuscules comprises",
    timeout: "La connexion n’a pas été terminée à temps",
    no_webauth: "Votre client VPN ne sait pas se connecter via le navigateur",
    session_invalid: "Votre session VPN n’est plus valide",
    session_expired: "Votre session VPN a expiré",
    recheck_failed: "Votre accès n’a pas pu être confirmé",
    store_unavailable: "La connexion est impossible pour le moment ; réessayez plus tard",
    internal_error: "La connexion a échoué sur le serveur",
  },
  errors: {
    "wrong-network": {
      title: "Mauvais réseau",
      message: "La connexion doit se faire depuis le même réseau que la connexion VPN",
    },
    "idp-unavailable": {
      title: "Connexion indisponible",
      message: "Le fournisseur d’identité est indisponible. Réessayez plus tard.",
    },
    "invalid-response": {
      title: "Réponse de connexion invalide",
      message:
        "La réponse du fournisseur d’identité est inutilisable. Reconnectez votre VPN pour réessayer.",
    },
    "cookie-missing": {
      title: "Cookie de connexion manquant",
      message:
        "Terminez la connexion dans le navigateur qui a ouvert le lien, avec les cookies activés.",
    },
    "no-answer": {
      title: "Le serveur VPN n'a pas répondu",
      message:
        "Le serveur VPN n'a pas confirmé votre connexion à temps. Si votre client VPN ne se connecte pas, reconnectez-le pour réessayer.",
    },
    "client-gone": {
      title: "Connexion VPN fermée",
      message:
        "Votre connexion VPN s’est fermée avant la fin de la connexion. Reconnectez votre VPN pour réessayer.",
    },
    "link-elsewhere": {
      title: "Lien de connexion ouvert ailleurs",
      message:
        "Ouvrez à nouveau le lien de connexion dans ce navigateur, avec les cookies activés, puis cliquez sur Continuer.",
    },
    "begun-elsewhere": {
      title: "Connexion déjà commencée",
      message:
        "Cette connexion VPN est déjà en cours d'authentification dans un autre navigateur. Si ce n'était pas vous, déconnectez votre VPN et contactez votre administrateur.",
    },
    "too-large": { title: "Requête trop volumineuse", message: "La requête est trop volumineuse." },
    "not-found": { title: "Introuvable", message: "Il n’y a rien ici." },
    "store-unavailable": {
      title: "Connexion momentanément indisponible",
      message:
        "Le service de connexion est momentanément indisponible. Réessayez dans une minute (rechargez cette page).",
    },
    internal: {
      title: "Une erreur s’est produite",
      message: "La connexion a échoué. Reconnectez votre VPN pour réessayer.",
    },
  },
};

const es: PageText = {
  tag: "es",
  noCertificate: "(sin certificado)",
  confirmTitle: "Iniciar sesión en la VPN",
  confirmIntro: (cn, ip, client) =>
    `Inicie sesión para permitir la conexión VPN del certificado ${cn} desde ${ip}${client}.`,
  confirmIntroAddressOnly: (ip, client) =>
    `Inicie sesión para permitir la conexión VPN desde ${ip}${client}.`,
  otherNetworkWarning: (browser, client) =>
    `Esta conexión VPN procede de otra red distinta de la de este navegador (este navegador: ${browser}, el cliente VPN: ${client}). Si no la inició desde este dispositivo, cierre esta ventana.`,
  expiresIn: (n) => `Este enlace caduca en ${n} ${n === 1 ? "minuto" : "minutos"}.`,
  confirmWarning:
    "Si no acaba de iniciar usted mismo esta conexión VPN, cierre esta ventana: puede que alguien esté intentando conectarse en su nombre.",
  continueButton: "Continuar al inicio de sesión",
  expiredTitle: "Enlace de inicio de sesión caducado",
  expiredText:
    "Este enlace de inicio de sesión ha caducado. Vuelva a conectar su VPN para obtener uno nuevo.",
  successTitle: "Está conectado",
  successText: "Está conectado. Puede cerrar esta ventana.",
  signedInAs: (user) => `Sesión iniciada como ${user}.`,
  finishedTitle: "Inicio de sesión terminado",
  finishedText:
    "Este inicio de sesión ha terminado. Si su cliente VPN no está conectado, vuelva a conectarlo.",
  deniedTitle: "Acceso denegado",
  deniedContact: "Si cree que se trata de un error, póngase en contacto con su administrador.",
  errorStatus: (status) => `Error ${status}`,
  reasons: {
    group: "No pertenece a ningún grupo autorizado a usar esta VPN",
    role: "No tiene ningún rol autorizado a usar esta VPN",
    claim: "Su cuenta no cumple un requisito de esta VPN",
    common_name: "Este certificado VPN no pertenece a su cuenta",
    missing_claim:
      "A su cuenta le falta información que esta VPN necesita; póngase en contacto con su administrador",
    wrong_network: "El inicio de sesión debe hacerse desde la misma red que la conexión VPN",
    username_unusable:
      "Su nombre de usuario no se puede usar con esta VPN; póngase en contacto con su administrador",
    idp_denied: "El inicio de sesión fue denegado o cancelado en el proveedor de identidad",
    idp_error: "El proveedor de identidad rechazó el inicio de sesión o este falló",
    idp_unreachable: "El proveedor de identidad no está disponible; inténtelo más tarde",
    max_sessions: "Ya tiene el número máximo de sesiones VPN permitido",
    too_many_sign_ins:
      "Demasiados inicios de sesión desde su dirección; inténtelo de nuevo en unos minutos",
    username_mismatch:
      "Su nombre de usuario VPN debe ser el mismo con el que inicia sesión, incluidas mayúsculas y minúsculas",
    timeout: "El inicio de sesión no se completó a tiempo",
    no_webauth: "Su cliente VPN no puede iniciar sesión en el navegador",
    session_invalid: "Su sesión VPN ya no es válida",
    session_expired: "Su sesión VPN ha caducado",
    recheck_failed: "No se pudo confirmar su acceso",
    store_unavailable: "El inicio de sesión no es posible en este momento; inténtelo más tarde",
    internal_error: "El inicio de sesión falló en el servidor",
  },
  errors: {
    "wrong-network": {
      title: "Red incorrecta",
      message: "El inicio de sesión debe hacerse desde la misma red que la conexión VPN",
    },
    "idp-unavailable": {
      title: "Inicio de sesión no disponible",
      message: "El proveedor de identidad no está disponible. Inténtelo más tarde.",
    },
    "invalid-response": {
      title: "Respuesta de inicio de sesión no válida",
      message:
        "La respuesta del proveedor de identidad no se puede usar. Vuelva a conectar su VPN para intentarlo de nuevo.",
    },
    "cookie-missing": {
      title: "Falta la cookie de inicio de sesión",
      message:
        "Termine de iniciar sesión en el navegador que abrió el enlace, con las cookies activadas.",
    },
    "no-answer": {
      title: "El servidor VPN no respondió",
      message:
        "El servidor VPN no confirmó su conexión a tiempo. Si su cliente VPN no se conecta, vuelva a conectarlo para intentarlo de nuevo.",
    },
    "client-gone": {
      title: "Conexión VPN cerrada",
      message:
        "Su conexión VPN se cerró antes de terminar el inicio de sesión. Vuelva a conectar su VPN para intentarlo de nuevo.",
    },
    "link-elsewhere": {
      title: "Enlace de inicio de sesión abierto en otro lugar",
      message:
        "Abra de nuevo el enlace de inicio de sesión en este navegador, con las cookies activadas, y pulse Continuar.",
    },
    "begun-elsewhere": {
      title: "Inicio de sesión ya comenzado",
      message:
        "Esta conexión VPN ya se está autenticando en otro navegador. Si no fue usted, desconecte su VPN y contacte con su administrador.",
    },
    "too-large": {
      title: "Solicitud demasiado grande",
      message: "La solicitud es demasiado grande.",
    },
    "not-found": { title: "No encontrado", message: "Aquí no hay nada." },
    "store-unavailable": {
      title: "Inicio de sesión no disponible por un momento",
      message:
        "El servicio de inicio de sesión no está disponible por un momento. Inténtelo de nuevo en un minuto (recargue esta página).",
    },
    internal: {
      title: "Algo salió mal",
      message: "El inicio de sesión falló. Vuelva a conectar su VPN para intentarlo de nuevo.",
    },
  },
};

export const PAGE_TEXT: Readonly<Record<Language, PageText>> = { en, de, fr, es };
