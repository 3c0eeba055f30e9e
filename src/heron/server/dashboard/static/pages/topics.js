/* placeholder: the topics page is being built */
"use strict";
