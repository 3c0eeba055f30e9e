/* placeholder: the conversations page is being built */
"use strict";
